{{/* The release's resource name. */}}
{{- define "ringfence.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ringfence.serviceAccountName" -}}
{{- default (include "ringfence.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "ringfence.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ringfence.labels" -}}
{{ include "ringfence.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Rules on namespaced objects in the watched namespaces. */}}
{{- define "ringfence.namespacedRules" -}}
- apiGroups: [ringfence.dev]
  resources: [fences]
  verbs: [get, list, watch]
- apiGroups: [ringfence.dev]
  resources: [fences/status]
  verbs: [get, patch, update]
# Owner references that block deletion need this where the
# OwnerReferencesPermissionEnforcement admission plugin runs.
- apiGroups: [ringfence.dev]
  resources: [fences/finalizers]
  verbs: [update]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [pods, services]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list, watch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
