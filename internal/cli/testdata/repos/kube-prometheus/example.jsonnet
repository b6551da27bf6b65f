local kp = (import 'kube-prometheus/main.libsonnet') + { values+:: { common+: { namespace: 'monitoring' } } };
{ ['setup/' + name]: kp.setup[name] for name in std.objectFields(kp.setup) }
