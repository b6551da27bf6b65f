package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/engine"
	"github.com/ringfence/ringfence/internal/model"
)

// staticEnv are the variables the AWS SDKs read long-lived keys from.
var staticEnv = map[string]bool{"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true}

// staticKeyName reports whether a variable or Secret key name looks like
// it holds an AWS key ("aws_access_key_id", "AWS_SECRET_ACCESS_KEY",
// "secret-key", a CLI credentials file), not a region or a bucket.
func staticKeyName(name string) bool {
	u := strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
	if staticEnv[u] || u == "CREDENTIALS" {
		return true
	}
	for _, s := range []string{"ACCESS_KEY", "SECRET_KEY", "SESSION_TOKEN", "SECRET_ACCESS"} {
		if strings.Contains(u, s) {
			return true
		}
	}
	return false
}

// longLived describes the long-lived AWS credentials a workload's pods
// hold: keys from Secrets (env, envFrom, files where the SDKs look) and
// literal keys in the manifest. It names Secrets and keys, never values.
// Roles (IRSA, Pod Identity) are not long-lived and are not listed.
func longLived(c *Context, w *model.Workload) []string {
	secrets := map[string]*model.Secret{}
	for _, s := range c.World.Secrets {
		if s.Namespace == w.Namespace {
			secrets[s.Name] = s
		}
	}
	prefix := func(secret, key string) string {
		if s := secrets[secret]; s != nil && s.KeyIDPrefixes[key] != "" {
			return fmt.Sprintf(" (an access key ID starting %s%s)", s.KeyIDPrefixes[key], keyKind(s.KeyIDPrefixes[key]))
		}
		return ""
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, pt := range w.Pods {
		for _, cr := range pt.Credentials {
			if cr.Cloud != "aws" {
				continue
			}
			switch cr.Kind {
			case model.CredSecretEnv:
				if staticEnv[cr.EnvVar] || staticKeyName(cr.Key) {
					add(fmt.Sprintf("env %s from Secret %s key %s%s", cr.EnvVar, cr.Secret, cr.Key, prefix(cr.Secret, cr.Key)))
				}
			case model.CredSecretEnvFrom:
				if s := secrets[cr.Secret]; s != nil {
					var keys []string
					for _, k := range s.Keys {
						if staticKeyName(k) {
							keys = append(keys, k+prefix(cr.Secret, k))
						}
					}
					if len(keys) > 0 {
						add(fmt.Sprintf("envFrom Secret %s (keys %s)", cr.Secret, strings.Join(keys, ", ")))
					}
				}
			case model.CredSecretVolume:
				// The loader marks a mounted Secret as AWS's when it sits where
				// the SDKs read credentials (only then is an unloaded Secret
				// marked) or when its key names mention AWS; a region alone
				// is no key.
				keys := ""
				if s := secrets[cr.Secret]; s != nil {
					static := false
					for _, k := range s.Keys {
						static = static || staticKeyName(k)
					}
					if !static && !sdkDir(cr.MountPath) {
						continue
					}
					if len(s.Keys) > 0 {
						keys = " (keys " + strings.Join(s.Keys, ", ") + ")"
					}
				}
				where := "mounted"
				if cr.MountPath != "" {
					where = "mounted at " + cr.MountPath
				}
				add(fmt.Sprintf("Secret %s%s %s, where the AWS SDKs read credentials", cr.Secret, keys, where))
			case model.CredLiteralEnv:
				what := "a literal value"
				if cr.KeyIDPrefix != "" {
					what = "a literal access key ID starting " + cr.KeyIDPrefix + keyKind(cr.KeyIDPrefix)
				}
				add(fmt.Sprintf("env %s set to %s in the manifest (value not shown)", cr.EnvVar, what))
			}
		}
	}
	sort.Strings(out)
	return out
}

// sdkDir reports whether a mount path is a ~/.aws directory.
func sdkDir(dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return strings.HasSuffix(dir, "/.aws") || strings.Contains(dir, "/.aws/")
}

func keyKind(prefix string) string {
	switch prefix {
	case "AKIA":
		return ", an IAM user's long-lived key"
	case "ASIA":
		return ", temporary credentials"
	}
	return ""
}

// peersOf returns the peers that stand for a workload's pods.
func peersOf(c *Context, w *model.Workload) []*engine.Peer {
	var out []*engine.Peer
	for _, p := range workloadPeers(c) {
		if p.Workload == w {
			out = append(out, p)
		}
	}
	return out
}

// roles describes the AWS roles a peer's pods assume (IRSA, EKS Pod
// Identity, an STS token): short-lived credentials, but usable by whoever
// runs code in the pod.
func roles(p *engine.Peer) []string {
	var out []string
	seen := map[string]bool{}
	for _, pt := range pods(p) {
		for _, cr := range pt.Credentials {
			if cr.Cloud != "aws" || (cr.Kind != model.CredIRSA && cr.Kind != model.CredPodIdentity && cr.Kind != model.CredProjectedToken) {
				continue
			}
			one := model.PodTemplate{PodSpec: model.PodSpec{Credentials: []model.Credential{cr}}}
			for _, d := range one.AWSCredentials() {
				if !seen[d] {
					seen[d] = true
					out = append(out, d)
				}
			}
		}
	}
	return out
}
