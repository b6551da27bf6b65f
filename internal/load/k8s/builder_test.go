package k8s

import (
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ringfence/ringfence/internal/load/document"
	"github.com/ringfence/ringfence/internal/model"
)

// build loads YAML through the same path as files.
func build(t *testing.T, ns, input string) (*model.World, *document.Report) {
	t.Helper()
	w, r, err := tryBuild(ns, input)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return w, r
}

func tryBuild(ns, input string) (*model.World, *document.Report, error) {
	objs, err := document.Read("in.yaml", strings.NewReader(input))
	if err != nil {
		return nil, nil, err
	}
	r := &document.Report{}
	b := NewBuilder(ns, r)
	for _, o := range objs {
		if err := b.Add(o); err != nil {
			return nil, nil, err
		}
	}
	r.Finish()
	return b.Finish(), r, nil
}

func workload(t *testing.T, w *model.World, kind, name string) *model.Workload {
	t.Helper()
	for _, wl := range w.Workloads {
		if wl.Kind == kind && wl.Name == name {
			return wl
		}
	}
	t.Fatalf("no workload %s/%s in %d workloads", kind, name, len(w.Workloads))
	return nil
}

// podsSummary renders a workload's templates compactly for comparison:
// role replicas labels varying ports.
func podsSummary(wl *model.Workload) []string {
	var out []string
	for _, p := range wl.Pods {
		var ports []string
		for _, c := range p.Containers {
			for _, port := range c.Ports {
				ports = append(ports, c.Name+":"+port.Name+"="+itoa(port.Port)+"/"+string(port.Protocol))
			}
		}
		out = append(out, strings.Join([]string{
			"role=" + p.Role,
			"replicas=" + itoa(p.Replicas),
			"labels=" + joinMap(p.Labels),
			"varying=" + strings.Join(p.VaryingLabels, ","),
			"ports=" + strings.Join(ports, ","),
		}, " "))
	}
	return out
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

func joinMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+":"+m[k])
	}
	return strings.Join(parts, ",")
}

func TestWorkloadPods(t *testing.T) {
	tests := []struct {
		name  string
		input string
		kind  string
		want  []string
	}{
		{
			name: "Deployment: replicas default 1, pod-template-hash varies even if the template sets it",
			kind: "Deployment",
			input: `apiVersion: apps/v1
kind: Deployment
metadata: {name: w, namespace: a}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x, pod-template-hash: abc}}
    spec: {containers: [{name: c, image: i, ports: [{containerPort: 80}, {name: dns, containerPort: 53, protocol: UDP}]}]}`,
			want: []string{"role= replicas=1 labels=app:x varying=pod-template-hash ports=c:=80/TCP,c:dns=53/UDP"},
		},
		{
			name: "Job: the API server adds both job-name labels",
			kind: "Job",
			input: `apiVersion: batch/v1
kind: Job
metadata: {name: w, namespace: a}
spec:
  parallelism: 4
  template:
    metadata: {labels: {app: x}}
    spec: {restartPolicy: Never, containers: [{name: c, image: i}]}`,
			want: []string{"role= replicas=4 labels=app:x,batch.kubernetes.io/job-name:w,job-name:w varying=batch.kubernetes.io/controller-uid,controller-uid ports="},
		},
		{
			name: "Job with manualSelector: no job-name labels; Indexed adds the completion index",
			kind: "Job",
			input: `apiVersion: batch/v1
kind: Job
metadata: {name: w, namespace: a}
spec:
  manualSelector: true
  completionMode: Indexed
  completions: 3
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {restartPolicy: Never, containers: [{name: c, image: i}]}`,
			want: []string{"role= replicas=1 labels=app:x varying=batch.kubernetes.io/controller-uid,batch.kubernetes.io/job-completion-index,controller-uid ports="},
		},
		{
			name: "CronJob: the job name depends on the schedule time",
			kind: "CronJob",
			input: `apiVersion: batch/v1
kind: CronJob
metadata: {name: w, namespace: a}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: x}}
        spec: {restartPolicy: Never, containers: [{name: c, image: i}]}`,
			want: []string{"role= replicas=1 labels=app:x varying=batch.kubernetes.io/controller-uid,batch.kubernetes.io/job-name,controller-uid,job-name ports="},
		},
		{
			name: "StatefulSet and its per-pod labels",
			kind: "StatefulSet",
			input: `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: w, namespace: a}
spec:
  replicas: 3
  serviceName: w
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: i}]}`,
			want: []string{"role= replicas=3 labels=app:x varying=apps.kubernetes.io/pod-index,controller-revision-hash,statefulset.kubernetes.io/pod-name ports="},
		},
		{
			name: "DaemonSet runs one pod per node",
			kind: "DaemonSet",
			input: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: w, namespace: a}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {hostNetwork: true, containers: [{name: c, image: i}]}`,
			want: []string{"role= replicas=-1 labels=app:x varying=controller-revision-hash,pod-template-generation ports="},
		},
		{
			name: "PyTorchJob: operator labels, lower-case replica types, default port on every replica",
			kind: "PyTorchJob",
			input: `apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: w, namespace: a}
spec:
  runPolicy: {cleanPodPolicy: None}
  pytorchReplicaSpecs:
    worker:
      replicas: 2
      template:
        metadata: {labels: {app: x}}
        spec: {containers: [{name: pytorch, image: i}]}
    Master:
      template:
        metadata: {labels: {training.kubeflow.org/job-name: overridden}}
        spec: {containers: [{name: sidecar, image: s}, {name: pytorch, image: i, ports: [{name: pytorchjob-port, containerPort: 29500}]}]}`,
			want: []string{
				"role=master replicas=1 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/job-role:master,training.kubeflow.org/operator-name:pytorchjob-controller,training.kubeflow.org/replica-type:master varying=training.kubeflow.org/replica-index ports=pytorch:pytorchjob-port=29500/TCP",
				"role=worker replicas=2 labels=app:x,training.kubeflow.org/job-name:w,training.kubeflow.org/operator-name:pytorchjob-controller,training.kubeflow.org/replica-type:worker varying=training.kubeflow.org/replica-index ports=pytorch:pytorchjob-port=23456/TCP",
			},
		},
		{
			name: "TFJob without a chief: worker 0 leads",
			kind: "TFJob",
			input: `apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: w, namespace: a}
spec:
  tfReplicaSpecs:
    PS: {replicas: 1, template: {spec: {containers: [{name: tensorflow, image: i}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: tensorflow, image: i}]}}}`,
			want: []string{
				"role=ps replicas=1 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/operator-name:tfjob-controller,training.kubeflow.org/replica-type:ps varying=training.kubeflow.org/replica-index ports=tensorflow:tfjob-port=2222/TCP",
				"role=worker replicas=2 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/operator-name:tfjob-controller,training.kubeflow.org/replica-type:worker varying=training.kubeflow.org/job-role,training.kubeflow.org/replica-index ports=tensorflow:tfjob-port=2222/TCP",
			},
		},
		{
			name: "TFJob with a chief",
			kind: "TFJob",
			input: `apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: w, namespace: a}
spec:
  tfReplicaSpecs:
    Chief: {template: {spec: {containers: [{name: tensorflow, image: i}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: tensorflow, image: i}]}}}`,
			want: []string{
				"role=chief replicas=1 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/job-role:master,training.kubeflow.org/operator-name:tfjob-controller,training.kubeflow.org/replica-type:chief varying=training.kubeflow.org/replica-index ports=tensorflow:tfjob-port=2222/TCP",
				"role=worker replicas=2 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/operator-name:tfjob-controller,training.kubeflow.org/replica-type:worker varying=training.kubeflow.org/replica-index ports=tensorflow:tfjob-port=2222/TCP",
			},
		},
		{
			name: "XGBoostJob and PaddleJob ports",
			kind: "PaddleJob",
			input: `apiVersion: kubeflow.org/v1
kind: PaddleJob
metadata: {name: w, namespace: a}
spec:
  paddleReplicaSpecs:
    Worker: {replicas: 2, template: {spec: {containers: [{name: paddle, image: i}]}}}`,
			want: []string{"role=worker replicas=2 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/operator-name:paddlejob-controller,training.kubeflow.org/replica-type:worker varying=training.kubeflow.org/replica-index ports=paddle:master=36543/TCP"},
		},
		{
			name: "MPIJob v1: launcher leads, has no index; no port injected",
			kind: "MPIJob",
			input: `apiVersion: kubeflow.org/v1
kind: MPIJob
metadata: {name: w, namespace: a}
spec:
  mpiReplicaSpecs:
    Launcher: {replicas: 1, template: {spec: {containers: [{name: mpi, image: i}]}}}
    Worker: {replicas: 4, template: {spec: {containers: [{name: mpi, image: i}]}}}`,
			want: []string{
				"role=launcher replicas=1 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/job-role:master,training.kubeflow.org/operator-name:mpijob-controller,training.kubeflow.org/replica-type:launcher varying= ports=",
				"role=worker replicas=4 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/operator-name:mpijob-controller,training.kubeflow.org/replica-type:worker varying=training.kubeflow.org/replica-index ports=",
			},
		},
		{
			name: "MPIJob v2beta1: the launcher is a batch Job",
			kind: "MPIJob",
			input: `apiVersion: kubeflow.org/v2beta1
kind: MPIJob
metadata: {name: w, namespace: a}
spec:
  slotsPerWorker: 1
  mpiReplicaSpecs:
    Launcher: {replicas: 1, template: {spec: {containers: [{name: l, image: i}]}}}
    Worker: {replicas: 2, template: {spec: {containers: [{name: w, image: i}]}}}`,
			want: []string{
				"role=launcher replicas=1 labels=batch.kubernetes.io/job-name:w-launcher,job-name:w-launcher,training.kubeflow.org/job-name:w,training.kubeflow.org/job-role:launcher,training.kubeflow.org/operator-name:mpi-operator varying=batch.kubernetes.io/controller-uid,controller-uid ports=",
				"role=worker replicas=2 labels=training.kubeflow.org/job-name:w,training.kubeflow.org/job-role:worker,training.kubeflow.org/operator-name:mpi-operator varying=training.kubeflow.org/replica-index ports=",
			},
		},
		{
			name: "InferenceService in raw deployment mode, with a model and a transformer",
			kind: "InferenceService",
			input: `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: w
  namespace: a
  labels: {team: ml}
  annotations: {serving.kserve.io/deploymentMode: RawDeployment}
spec:
  predictor:
    minReplicas: 2
    labels: {tier: gpu}
    model:
      modelFormat: {name: sklearn}
      storageUri: s3://bucket/model
      ports: [{name: h2c, containerPort: 8080}]
  transformer:
    containers: [{image: t}]`,
			want: []string{
				"role=predictor replicas=2 labels=app:isvc.w-predictor,component:predictor,serving.kserve.io/inferenceservice:w,team:ml,tier:gpu varying=pod-template-hash ports=kserve-container:h2c=8080/TCP",
				"role=transformer replicas=1 labels=app:isvc.w-transformer,component:transformer,serving.kserve.io/inferenceservice:w,team:ml varying=pod-template-hash ports=",
			},
		},
		{
			name: "InferenceService serverless: Knative labels and the queue-proxy",
			kind: "InferenceService",
			input: `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: w
  namespace: a
  annotations: {serving.kserve.io/deploymentMode: Serverless}
spec:
  predictor:
    sklearn: {storageUri: gs://m}`,
			want: []string{
				"role=predictor replicas=1 labels=component:predictor,serving.knative.dev/configuration:w-predictor,serving.knative.dev/service:w-predictor,serving.kserve.io/inferenceservice:w varying=app,serving.knative.dev/configurationGeneration,serving.knative.dev/revision,serving.knative.dev/revisionUID ports=kserve-container:user-port=8080/TCP,queue-proxy:http-queueadm=8022/TCP,queue-proxy:http-autometric=9090/TCP,queue-proxy:http-usermetric=9091/TCP,queue-proxy:queue-port=8012/TCP",
			},
		},
		{
			name: "RayCluster head and worker groups",
			kind: "RayCluster",
			input: `apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: rc, namespace: a}
spec:
  headGroupSpec:
    rayStartParams: {}
    template:
      metadata: {labels: {ray.io/node-type: overridden, team: ml}}
      spec: {containers: [{name: ray-head, image: r, ports: [{name: gcs-server, containerPort: 6379}]}]}
  workerGroupSpecs:
  - groupName: gpu
    replicas: 2
    numOfHosts: 2
    rayStartParams: {}
    template: {spec: {containers: [{name: ray-worker, image: r}]}}`,
			want: []string{
				"role=head replicas=1 labels=app.kubernetes.io/created-by:kuberay-operator,app.kubernetes.io/name:kuberay,ray.io/cluster:rc,ray.io/group:headgroup,ray.io/identifier:rc-head,ray.io/is-ray-node:yes,ray.io/node-type:head,team:ml varying= ports=ray-head:gcs-server=6379/TCP,ray-head:metrics=8080/TCP",
				"role=worker/gpu replicas=4 labels=app.kubernetes.io/created-by:kuberay-operator,app.kubernetes.io/name:kuberay,ray.io/cluster:rc,ray.io/group:gpu,ray.io/identifier:rc-worker,ray.io/is-ray-node:yes,ray.io/node-type:worker varying= ports=ray-worker:metrics=8080/TCP",
			},
		},
		{
			name: "RayJob: generated cluster name and the submitter Job",
			kind: "RayJob",
			input: `apiVersion: ray.io/v1
kind: RayJob
metadata: {name: rj, namespace: a}
spec:
  entrypoint: python train.py
  rayClusterSpec:
    headGroupSpec: {template: {spec: {containers: [{name: h, image: rayproject/ray:2.9}]}}}`,
			want: []string{
				"role=head replicas=1 labels=app.kubernetes.io/created-by:kuberay-operator,app.kubernetes.io/name:kuberay,ray.io/group:headgroup,ray.io/is-ray-node:yes,ray.io/node-type:head varying=ray.io/cluster,ray.io/identifier ports=h:metrics=8080/TCP",
				"role=submitter replicas=1 labels=batch.kubernetes.io/job-name:rj,job-name:rj varying=batch.kubernetes.io/controller-uid,controller-uid ports=",
			},
		},
		{
			name: "RayService: serve label",
			kind: "RayService",
			input: `apiVersion: ray.io/v1
kind: RayService
metadata: {name: rs, namespace: a}
spec:
  rayClusterConfig:
    headGroupSpec: {template: {spec: {containers: [{name: h, image: r, ports: [{name: metrics, containerPort: 8080}]}]}}}
    workerGroupSpecs: [{groupName: g, minReplicas: 1, template: {spec: {containers: [{name: w, image: r}]}}}]`,
			want: []string{
				"role=head replicas=1 labels=app.kubernetes.io/created-by:kuberay-operator,app.kubernetes.io/name:kuberay,ray.io/group:headgroup,ray.io/is-ray-node:yes,ray.io/node-type:head varying=ray.io/cluster,ray.io/identifier,ray.io/serve ports=h:metrics=8080/TCP",
				"role=worker/g replicas=1 labels=app.kubernetes.io/created-by:kuberay-operator,app.kubernetes.io/name:kuberay,ray.io/group:g,ray.io/is-ray-node:yes,ray.io/node-type:worker,ray.io/serve:true varying=ray.io/cluster,ray.io/identifier ports=w:metrics=8080/TCP",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := build(t, "", tt.input)
			wl := w.Workloads[0]
			if len(w.Workloads) != 1 || wl.Kind != tt.kind {
				t.Fatalf("got %d workloads, first %s; want one %s", len(w.Workloads), wl.Kind, tt.kind)
			}
			got := podsSummary(wl)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("pods:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestCredentialsAndIdentity(t *testing.T) {
	const input = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: irsa
  namespace: ml
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/train"}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: ml
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"aws_secret_access_key":"SECRETVALUE1"}}'
stringData: {aws_secret_access_key: SECRETVALUE2, aws_access_key_id: AKIDVALUE}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ml}
spec:
  serviceAccountName: irsa
  automountServiceAccountToken: true
  initContainers:
  - name: fetch
    image: i
    resources: {limits: {nvidia.com/gpu: 4}}
  containers:
  - name: train
    image: i
    resources: {requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 1}}
    env:
    - {name: AWS_SECRET_ACCESS_KEY, value: LITERALSECRET}
    - {name: TOKEN, valueFrom: {secretKeyRef: {name: other, key: token}}}
    envFrom: [{secretRef: {name: creds}}]
    volumeMounts: [{name: c, mountPath: /creds}, {name: tok, mountPath: /var/run/tok}]
  - name: side
    image: i
    resources: {limits: {nvidia.com/gpu: 2}}
  volumes:
  - {name: c, secret: {secretName: creds}}
  - name: tok
    projected: {sources: [{serviceAccountToken: {audience: sts.amazonaws.com, path: token}}, {serviceAccountToken: {path: api}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: q, namespace: ml}
spec: {serviceAccountName: irsa, containers: [{name: c, image: i}]}
`
	w, _ := build(t, "", input)
	p := workload(t, w, "Pod", "p").Pods[0]
	var got []string
	for _, c := range p.Credentials {
		got = append(got, strings.Join([]string{string(c.Kind), c.Container, c.Secret, c.Key, c.EnvVar, c.MountPath, c.RoleARN, c.Audience, c.Cloud}, "|"))
	}
	want := []string{
		"irsa||||||arn:aws:iam::111122223333:role/train||aws",
		"literal-env|train|||AWS_SECRET_ACCESS_KEY||||aws",
		"projected-token|train||||/var/run/tok||sts.amazonaws.com|aws",
		"secret-env|train|other|token|TOKEN||||",
		"secret-envfrom|train|creds||||||aws",
		"secret-volume|train|creds|||/creds|||aws",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("credentials:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !p.AutomountToken {
		t.Error("pod p sets automountServiceAccountToken: true, which wins over its account's false")
	}
	if q := workload(t, w, "Pod", "q").Pods[0]; q.AutomountToken {
		t.Error("pod q inherits automountServiceAccountToken: false from its account")
	}
	if got := p.GPUs["nvidia.com/gpu"]; got != 4 {
		t.Errorf("GPUs = %d, want 4 (the init container's 4 exceeds the containers' 1+2)", got)
	}
	// Secret values are never kept, not even through annotations.
	j, _ := json.Marshal(w)
	for _, secret := range []string{"SECRETVALUE1", "SECRETVALUE2", "AKIDVALUE", "LITERALSECRET"} {
		if strings.Contains(string(j), secret) {
			t.Errorf("the model holds the secret value %q", secret)
		}
	}
	if keys := strings.Join(w.Secrets[0].Keys, ","); keys != "aws_access_key_id,aws_secret_access_key" {
		t.Errorf("secret keys = %s", keys)
	}
}

func TestNamespaces(t *testing.T) {
	const input = `apiVersion: v1
kind: Namespace
metadata: {name: ml, labels: {team: ml, kubernetes.io/metadata.name: wrong}}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-1, namespace: ignored}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: other}
spec: {podSelector: {}}
`
	w, _ := build(t, "team-a", input)
	var got []string
	for _, ns := range w.Namespaces {
		got = append(got, ns.Name+":"+joinMap(ns.Labels)+":"+map[bool]string{true: "synthesized", false: "defined"}[ns.Synthesized])
	}
	want := []string{
		"ml:kubernetes.io/metadata.name:ml,team:ml:defined",
		"other:kubernetes.io/metadata.name:other:synthesized",
		"team-a:kubernetes.io/metadata.name:team-a:synthesized",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("namespaces = %v\nwant %v", got, want)
	}
	if w.Services[0].Namespace != "team-a" {
		t.Errorf("service namespace = %q, want the -n default team-a", w.Services[0].Namespace)
	}
	if w.Services[0].Spec.Ports[0].Protocol != "TCP" || w.Services[0].Spec.Type != "ClusterIP" {
		t.Errorf("service defaults not applied: %+v", w.Services[0].Spec)
	}
	if w.Nodes[0].Namespace != "" {
		t.Errorf("node has namespace %q; nodes are cluster-scoped", w.Nodes[0].Namespace)
	}
}

func TestReport(t *testing.T) {
	const input = `apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: x}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: x}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: x}
spec:
  podselector: {matchLabels: {app: a}}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: x}
spec: {type: ClusterIP}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: x}
spec: {type: NodePort}
`
	w, r := build(t, "", input)
	if len(r.Unknown) != 1 || r.Unknown[0].Count != 2 || r.Unknown[0].First.Line != 1 {
		t.Errorf("unknown = %+v, want 2 ConfigMaps first at line 1", r.Unknown)
	}
	var warnings []string
	for _, n := range r.Warnings {
		warnings = append(warnings, n.String())
	}
	want := []string{
		`in.yaml:9: NetworkPolicy/x/p: unknown field "spec.podselector" (the API server rejects this with field validation Strict, kubectl's default)`,
		`in.yaml:20: Service/x/s: defined again (first at in.yaml:15); this later definition is used, as kubectl apply would`,
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	if len(w.Services) != 1 || w.Services[0].Spec.Type != "NodePort" {
		t.Errorf("services = %+v, want only the later NodePort definition", w.Services)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, input, want string }{
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "in.yaml:1: object has no apiVersion or kind, and its shape is not one ringfence knows"},
		{"no name", "apiVersion: v1\nkind: Service\nmetadata: {namespace: a}\n", "in.yaml:1: Service: metadata.name is missing"},
		{"neither name nor generateName", "apiVersion: batch/v1\nkind: Job\nmetadata: {labels: {a: b}}\n", "in.yaml:1: Job: metadata.name is missing"},
		{"YAML 1.1 boolean", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: n}]}\n", "in.yaml:1: Pod/default/p: invalid Pod: cannot unmarshal bool into Go struct field Container.spec.containers.image of type string (YAML reads unquoted y, n, yes, no, on and off as booleans: quote the value)"},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: many}\n", "in.yaml:1: Deployment/default/d: invalid Deployment: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"},
		{"endPort without port", policy("egress:\n  - ports: [{endPort: 90}]"), "in.yaml:9: NetworkPolicy/a/p: spec.egress[0].ports[0].endPort: may not be specified when port is not specified"},
		{"endPort below port", policy("ingress:\n  - ports: [{port: 100, endPort: 90}]"), "in.yaml:9: NetworkPolicy/a/p: spec.ingress[0].ports[0].endPort: must be greater than or equal to port"},
		{"endPort with named port", policy("ingress:\n  - ports: [{port: http, endPort: 90}]"), "in.yaml:9: NetworkPolicy/a/p: spec.ingress[0].ports[0].endPort: may not be specified when port is a named port"},
		{"bad protocol", policy("ingress:\n  - ports: [{protocol: ICMP}]"), "in.yaml:9: NetworkPolicy/a/p: spec.ingress[0].ports[0].protocol: unsupported protocol \"ICMP\": must be TCP, UDP or SCTP"},
		{"port out of range", policy("ingress:\n  - ports: [{port: 70000}]"), "in.yaml:9: NetworkPolicy/a/p: spec.ingress[0].ports[0].port: 70000: must be between 1 and 65535, inclusive"},
		{"ipBlock with selector", policy("egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8}\n      podSelector: {}"), "in.yaml:10: NetworkPolicy/a/p: spec.egress[0].to[0]: may not specify more than 1 peer type: ipBlock cannot be combined with podSelector or namespaceSelector"},
		{"except outside cidr", policy("egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}"), "in.yaml:10: NetworkPolicy/a/p: spec.egress[0].to[0].ipBlock.except[0]: 11.0.0.0/16 must be a strict subset of cidr 10.0.0.0/8"},
		{"except equal to cidr", policy("egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/8]}"), "in.yaml:10: NetworkPolicy/a/p: spec.egress[0].to[0].ipBlock.except[0]: 10.1.0.0/8 must be a strict subset of cidr 10.0.0.0/8"},
		{"bad cidr", policy("egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/33}"), "in.yaml:10: NetworkPolicy/a/p: spec.egress[0].to[0].ipBlock.cidr: \"10.0.0.0/33\" is not a valid CIDR"},
		{"empty peer", policy("ingress:\n  - from:\n    - {}"), "in.yaml:10: NetworkPolicy/a/p: spec.ingress[0].from[0]: must specify a peer: podSelector, namespaceSelector or ipBlock"},
		{"bad selector operator", policy("ingress:\n  - from:\n    - podSelector: {matchExpressions: [{key: a, operator: Gt, values: [\"1\"]}]}"), "in.yaml:10: NetworkPolicy/a/p: spec.ingress[0].from[0].podSelector: \"Gt\" is not a valid label selector operator"},
		// JSON input: YAML's duplicate keys are refused by document.Read.
		{"duplicate JSON field", "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"s\", \"namespace\": \"a\"},\n \"spec\": {\"selector\": {\"app\": \"web\", \"app\": \"api\"}}}\n",
			`in.yaml:1: Service/a/s: duplicate field "spec.selector.app" is set twice in one object; the API server rejects this with field validation Strict (kubectl's default), a lenient reader keeps the last`},
		{"bad policy type", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, egress]\n", "in.yaml:6: NetworkPolicy/a/p: spec.policyTypes[1]: unsupported value \"egress\": must be Ingress or Egress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tryBuild("", tt.input)
			if err == nil {
				t.Fatal("no error")
			}
			var de *document.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not positioned: %v", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err.Error(), tt.want)
			}
		})
	}
}

// policy returns a NetworkPolicy whose spec continues with rules (indented
// by two spaces); the first rule is on line 9.
func policy(rules string) string {
	return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: a\nspec:\n  podSelector: {}\n  " + rules + "\n"
}

func TestPolicyRuleSources(t *testing.T) {
	w, _ := build(t, "", policy("egress:\n  - to: [{podSelector: {}}]\n  - ports: [{port: 53, protocol: UDP}]\n  ingress:\n  - {}"))
	p := w.Policies[0]
	if len(p.EgressRules) != 2 || p.EgressRules[0].Line != 9 || p.EgressRules[1].Line != 10 || p.IngressRules[0].Line != 12 {
		t.Errorf("rule sources: egress %v ingress %v; want egress at 9 and 10, ingress at 12", p.EgressRules, p.IngressRules)
	}
}

func TestOwnershipFolding(t *testing.T) {
	const input = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: i}]}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d4f
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web, pod-template-hash: 5d4f}}, spec: {containers: [{name: c, image: i}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d4f-x1
  namespace: a
  labels: {app: web, pod-template-hash: 5d4f}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: u2, controller: true}]
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.1.2.3, podIPs: [{ip: 10.1.2.3}, {ip: "fd00::3"}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone, uid: u3, controller: true}]
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.1.2.4}
`
	w, _ := build(t, "", input)
	if len(w.Workloads) != 2 {
		t.Fatalf("workloads = %d, want the Deployment and the orphan pod", len(w.Workloads))
	}
	web := workload(t, w, "Deployment", "web")
	if len(web.Owned) != 1 || web.Owned[0].Name != "web-5d4f" {
		t.Errorf("owned = %v, want the ReplicaSet", web.Owned)
	}
	if len(web.Instances) != 1 || web.Instances[0].Name != "web-5d4f-x1" || len(web.Instances[0].IPs) != 2 {
		t.Errorf("instances = %+v, want the pod with both IPs", web.Instances)
	}
	orphan := workload(t, w, "Pod", "orphan")
	if len(orphan.Instances) != 0 || len(orphan.Pods[0].IPs) != 1 || orphan.Pods[0].IPs[0].String() != "10.1.2.4" {
		t.Errorf("orphan pod = %+v", orphan)
	}
}

func TestSecurityGroupPolicy(t *testing.T) {
	w, _ := build(t, "", `apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: trainers, namespace: ml}
spec:
  podSelector: {matchLabels: {app: ml-training}}
  securityGroups: {groupIds: [sg-0123, sg-0456]}
`)
	if len(w.SecurityGroupPolicies) != 1 || strings.Join(w.SecurityGroupPolicies[0].GroupIDs, ",") != "sg-0123,sg-0456" || w.SecurityGroupPolicies[0].PodSelector.MatchLabels["app"] != "ml-training" {
		t.Errorf("policies = %+v", w.SecurityGroupPolicies)
	}
	if _, _, err := tryBuild("", "apiVersion: vpcresources.k8s.aws/v1beta1\nkind: SecurityGroupPolicy\nmetadata: {name: x, namespace: ml}\nspec: {podSelector: {}}\n"); err == nil || !strings.Contains(err.Error(), "groupIds is empty") {
		t.Errorf("empty groupIds: err = %v", err)
	}
}
