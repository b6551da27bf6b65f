package k8s

import (
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/ringfence/ringfence/internal/model"
	corev1 "k8s.io/api/core/v1"
)

// awsCredentialEnv are the variables the AWS SDKs read static credentials
// from; a literal value for one of them is a credential in the manifest.
var awsCredentialEnv = map[string]bool{
	"AWS_ACCESS_KEY_ID":     true,
	"AWS_SECRET_ACCESS_KEY": true,
	"AWS_SESSION_TOKEN":     true,
}

// accessKeyID matches an AWS access key ID: AKIA for an IAM user's
// long-lived key, ASIA for temporary credentials.
var accessKeyID = regexp.MustCompile(`^(AKIA|ASIA)[A-Z0-9]{16}$`)

// envSharedCredentials names the file the AWS SDKs read credentials from
// instead of ~/.aws/credentials.
const envSharedCredentials = "AWS_SHARED_CREDENTIALS_FILE"

// Variables that the EKS webhooks inject for IRSA and Pod Identity; a live
// pod shows them even when its service account is not loaded.
const (
	envRoleARN          = "AWS_ROLE_ARN"
	envPodIdentityURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	audienceSTS         = "sts.amazonaws.com"
	audiencePodIdentity = "pods.eks.amazonaws.com"
)

// credentials lists the credentials a pod spec carries. Values are never
// read: only where a credential comes from.
func credentials(s *corev1.PodSpec) []model.Credential {
	var out []model.Credential
	// Pointers, not copies: a Container is a kilobyte.
	all := make([]*corev1.Container, 0, len(s.InitContainers)+len(s.Containers))
	for i := range s.InitContainers {
		all = append(all, &s.InitContainers[i])
	}
	for i := range s.Containers {
		all = append(all, &s.Containers[i])
	}
	for _, c := range all {
		for _, e := range c.Env {
			switch {
			case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
				ref := e.ValueFrom.SecretKeyRef
				out = append(out, model.Credential{Kind: model.CredSecretEnv, Container: c.Name, Secret: ref.Name, Key: ref.Key, EnvVar: e.Name, Cloud: awsIf(awsName(e.Name) || awsName(ref.Key))})
			case awsCredentialEnv[e.Name] && e.Value != "", accessKeyID.MatchString(e.Value):
				// Only the key ID's prefix is kept, never the value.
				cred := model.Credential{Kind: model.CredLiteralEnv, Container: c.Name, EnvVar: e.Name, Cloud: "aws"}
				if accessKeyID.MatchString(e.Value) {
					cred.KeyIDPrefix = e.Value[:4]
				}
				out = append(out, cred)
			case e.Name == envRoleARN && e.Value != "":
				out = append(out, model.Credential{Kind: model.CredIRSA, Container: c.Name, EnvVar: e.Name, RoleARN: e.Value, Cloud: "aws"})
			case e.Name == envPodIdentityURI && e.Value != "":
				out = append(out, model.Credential{Kind: model.CredPodIdentity, Container: c.Name, EnvVar: e.Name, Cloud: "aws"})
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				out = append(out, model.Credential{Kind: model.CredSecretEnvFrom, Container: c.Name, Secret: ef.SecretRef.Name})
			}
		}
	}
	out = append(out, volumeCredentials(s, all)...)
	sortCredentials(out)
	return out
}

// volumeCredentials lists secret volumes and projected tokens, once per
// container that mounts them (or once, unmounted, if none does).
func volumeCredentials(s *corev1.PodSpec, all []*corev1.Container) []model.Credential {
	var out []model.Credential
	for _, v := range s.Volumes {
		var found []model.Credential
		switch {
		case v.Secret != nil:
			found = append(found, model.Credential{Kind: model.CredSecretVolume, Secret: v.Secret.SecretName})
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				switch {
				case src.Secret != nil:
					found = append(found, model.Credential{Kind: model.CredSecretVolume, Secret: src.Secret.Name})
				case src.ServiceAccountToken != nil && src.ServiceAccountToken.Audience != "":
					// A token without an audience is the API server's own
					// (automount); one with an audience is for someone else.
					aud := src.ServiceAccountToken.Audience
					cloud := ""
					if aud == audienceSTS || aud == audiencePodIdentity {
						cloud = "aws"
					}
					found = append(found, model.Credential{Kind: model.CredProjectedToken, Audience: aud, Cloud: cloud})
				}
			}
		}
		if len(found) == 0 {
			continue
		}
		mounted := false
		for _, c := range all {
			for _, vm := range c.VolumeMounts {
				if vm.Name != v.Name {
					continue
				}
				mounted = true
				for _, f := range found {
					f.Container, f.MountPath = c.Name, vm.MountPath
					if f.Kind == model.CredSecretVolume && sdkReads(c, vm.MountPath) {
						f.Cloud = "aws"
					}
					out = append(out, f)
				}
			}
		}
		if !mounted {
			out = append(out, found...)
		}
	}
	return out
}

// sdkReads reports whether the AWS SDKs in container c read credentials
// from under dir: a ~/.aws directory, or the file AWS_SHARED_CREDENTIALS_FILE
// names.
func sdkReads(c *corev1.Container, dir string) bool {
	clean := path.Clean(dir)
	if path.Base(clean) == ".aws" || strings.Contains(clean, "/.aws/") {
		return true
	}
	for _, e := range c.Env {
		if e.Name == envSharedCredentials && e.Value != "" && (path.Clean(e.Value) == clean || strings.HasPrefix(path.Clean(e.Value), clean+"/")) {
			return true
		}
	}
	return false
}

func awsName(s string) bool {
	u := strings.ToUpper(s)
	return strings.HasPrefix(u, "AWS_") || strings.Contains(u, "ACCESS_KEY") || strings.Contains(u, "AWS")
}

func awsIf(b bool) string {
	if b {
		return "aws"
	}
	return ""
}

func sortCredentials(cs []model.Credential) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		if a.Secret != b.Secret {
			return a.Secret < b.Secret
		}
		if a.EnvVar != b.EnvVar {
			return a.EnvVar < b.EnvVar
		}
		return a.MountPath < b.MountPath
	})
}
