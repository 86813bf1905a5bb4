package k8s

import (
	"net/url"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	f.Add("GET", "/api/v1/namespaces/default/pods", "watch=true")
	f.Add("DELETE", "/apis/apps/v1/namespaces/x/deployments", "")
	f.Add("POST", "/api/v1/namespaces/kube-system/pods/p/exec", "command=id")
	f.Add("GET", "/api/v1/namespaces/default", "")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		q, _ := url.ParseQuery(query)
		ri := parseRequest(method, path, q)
		_ = forbidden(ri, path)
		_ = tokenSubject(query)
	})
}

func FuzzPodCreate(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"x"},"spec":{"hostPID":true,"containers":[{"image":"alpine","command":["sh"],"securityContext":{"privileged":true}}],"volumes":[{"hostPath":{"path":"/"}}]}}`))
	f.Add([]byte(`{"spec":{"containers":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		info := podInfo(body)
		if len(info.images) > 32 || len(info.hostPaths) > 32 {
			t.Fatalf("unbounded: %+v", info)
		}
	})
}
