{{- define "ingress-nginx.controller.fullname" -}}
{{- printf "%s-%s" .Release.Name .Values.controller.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "ingress-nginx.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}
{{- define "ingress-nginx.selectorLabels" -}}
app.kubernetes.io/name: ingress-nginx
app.kubernetes.io/component: controller
{{- end -}}
