{{/* The release name is the name of every object (deploy/ renders release "readiness"). */}}
{{- define "readiness.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "readiness.serviceAccount" -}}
{{- .Values.serviceAccount.name | default (include "readiness.fullname" .) -}}
{{- end -}}

{{- define "readiness.labels" -}}
app.kubernetes.io/name: readiness
{{- end -}}

{{/* The pod of the Job and of the CronJob: the same audit on the mounted files. */}}
{{- define "readiness.pod" -}}
metadata:
  labels:
    {{- include "readiness.labels" . | nindent 4 }}
spec:
  serviceAccountName: {{ include "readiness.serviceAccount" . }}
  automountServiceAccountToken: true
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    fsGroup: 10001
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: readiness
      image: {{ printf "%s:%s" .Values.image.repository .Values.image.tag | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - audit
        - -t
        - /etc/readiness/targets.yaml
        - --json
        - /reports/report.json
        - --html
        - /reports/report.html
        - --junit
        - /reports/report.xml
        - --prometheus
        - /reports/readiness.prom
        {{- with .Values.pushgateway.url }}
        - --pushgateway
        - {{ . | quote }}
        {{- end }}
        {{- with .Values.upload }}
        - --upload
        - {{ . | quote }}
        {{- end }}
      envFrom:
        - secretRef: {name: {{ .Values.credentialsSecret | quote }}}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - {name: config, mountPath: /etc/readiness, readOnly: true}
        - {name: reports, mountPath: /reports}
        - {name: tmp, mountPath: /tmp}
  volumes:
    - name: config
      configMap: {name: {{ include "readiness.fullname" . }}-config}
    - name: reports
      {{- if .Values.reports.persistence.enabled }}
      persistentVolumeClaim: {claimName: {{ include "readiness.fullname" . }}-reports}
      {{- else }}
      emptyDir: {}
      {{- end }}
    - name: tmp
      emptyDir: {}
{{- end -}}
