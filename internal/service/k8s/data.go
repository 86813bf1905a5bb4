package k8s

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service/httpapi"
)

// release is one Kubernetes release as /version shows it.
type release struct {
	gitVersion, gitCommit, buildDate, goVersion string
}

var releases = []release{
	{"v1.27.4", "fa3d7990104d7c1f16943a67f11b154b71f6a132", "2023-07-19T12:14:49Z", "go1.20.6"},
	{"v1.28.2", "89a4ea3e1e4ddd7f7572286090359983e0387b2f", "2023-09-13T09:29:07Z", "go1.20.8"},
	{"v1.29.0", "3f7a50f38688eb332e2a1b013678c6435d539ae6", "2023-12-13T08:45:03Z", "go1.21.5"},
	{"v1.30.2", "39683505b630ff2121012f3c5b16215a1449d5ed", "2024-06-11T20:21:00Z", "go1.22.4"},
}

func releaseFor(v string, id persona.Identity) release {
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	for _, r := range releases {
		if r.gitVersion == v {
			return r
		}
	}
	r := releases[0]
	r.gitVersion = v
	r.gitCommit = hex.EncodeToString(id.Bytes("k8s-commit/"+v, 20))
	return r
}

func (r release) majorMinor() (string, string) {
	p := strings.SplitN(strings.TrimPrefix(r.gitVersion, "v"), ".", 3)
	if len(p) < 2 {
		return "1", "27"
	}
	return p[0], p[1]
}

// resource is one discovery entry.
type resource struct {
	name, singular, kind string
	namespaced           bool
	verbs                []string
	short                []string
	all                  bool // in the "all" category
}

var (
	std = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	sub = []string{"get", "patch", "update"}
)

// groupVersion is one API group version with its resources.
type groupVersion struct {
	group, version string
	resources      []resource
}

var coreV1 = groupVersion{"", "v1", []resource{
	{"bindings", "binding", "Binding", true, []string{"create"}, nil, false},
	{"componentstatuses", "componentstatus", "ComponentStatus", false, []string{"get", "list"}, []string{"cs"}, false},
	{"configmaps", "configmap", "ConfigMap", true, std, []string{"cm"}, false},
	{"endpoints", "endpoints", "Endpoints", true, std, []string{"ep"}, false},
	{"events", "event", "Event", true, std, []string{"ev"}, false},
	{"limitranges", "limitrange", "LimitRange", true, std, []string{"limits"}, false},
	{"namespaces", "namespace", "Namespace", false, []string{"create", "delete", "get", "list", "patch", "update", "watch"}, []string{"ns"}, false},
	{"nodes", "node", "Node", false, std, []string{"no"}, false},
	{"nodes/proxy", "", "NodeProxyOptions", false, []string{"create", "delete", "get", "patch", "update"}, nil, false},
	{"persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, std, []string{"pvc"}, false},
	{"persistentvolumes", "persistentvolume", "PersistentVolume", false, std, []string{"pv"}, false},
	{"pods", "pod", "Pod", true, std, []string{"po"}, true},
	{"pods/attach", "", "PodAttachOptions", true, []string{"create", "get"}, nil, false},
	{"pods/exec", "", "PodExecOptions", true, []string{"create", "get"}, nil, false},
	{"pods/log", "", "Pod", true, []string{"get"}, nil, false},
	{"pods/portforward", "", "PodPortForwardOptions", true, []string{"create", "get"}, nil, false},
	{"pods/status", "", "Pod", true, sub, nil, false},
	{"podtemplates", "podtemplate", "PodTemplate", true, std, nil, false},
	{"replicationcontrollers", "replicationcontroller", "ReplicationController", true, std, []string{"rc"}, true},
	{"resourcequotas", "resourcequota", "ResourceQuota", true, std, []string{"quota"}, false},
	{"secrets", "secret", "Secret", true, std, nil, false},
	{"serviceaccounts", "serviceaccount", "ServiceAccount", true, std, []string{"sa"}, false},
	{"serviceaccounts/token", "", "TokenRequest", true, []string{"create"}, nil, false},
	{"services", "service", "Service", true, std, []string{"svc"}, true},
	{"services/proxy", "", "ServiceProxyOptions", true, []string{"create", "delete", "get", "patch", "update"}, nil, false},
}}

// groups are the built-in API groups of a kubeadm cluster, in the order
// /apis lists them.
var groups = []groupVersion{
	{"apiregistration.k8s.io", "v1", []resource{{"apiservices", "apiservice", "APIService", false, std, nil, false}}},
	{"apps", "v1", []resource{
		{"controllerrevisions", "controllerrevision", "ControllerRevision", true, std, nil, false},
		{"daemonsets", "daemonset", "DaemonSet", true, std, []string{"ds"}, true},
		{"deployments", "deployment", "Deployment", true, std, []string{"deploy"}, true},
		{"deployments/scale", "", "Scale", true, sub, nil, false},
		{"replicasets", "replicaset", "ReplicaSet", true, std, []string{"rs"}, true},
		{"statefulsets", "statefulset", "StatefulSet", true, std, []string{"sts"}, true},
	}},
	{"events.k8s.io", "v1", []resource{{"events", "event", "Event", true, std, []string{"ev"}, false}}},
	{"authentication.k8s.io", "v1", []resource{{"tokenreviews", "tokenreview", "TokenReview", false, []string{"create"}, nil, false}}},
	{"authorization.k8s.io", "v1", []resource{
		{"localsubjectaccessreviews", "localsubjectaccessreview", "LocalSubjectAccessReview", true, []string{"create"}, nil, false},
		{"selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview", false, []string{"create"}, nil, false},
		{"selfsubjectrulesreviews", "selfsubjectrulesreview", "SelfSubjectRulesReview", false, []string{"create"}, nil, false},
		{"subjectaccessreviews", "subjectaccessreview", "SubjectAccessReview", false, []string{"create"}, nil, false},
	}},
	{"autoscaling", "v2", []resource{{"horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", true, std, []string{"hpa"}, true}}},
	{"batch", "v1", []resource{
		{"cronjobs", "cronjob", "CronJob", true, std, []string{"cj"}, true},
		{"jobs", "job", "Job", true, std, nil, true},
	}},
	{"certificates.k8s.io", "v1", []resource{{"certificatesigningrequests", "certificatesigningrequest", "CertificateSigningRequest", false, std, []string{"csr"}, false}}},
	{"networking.k8s.io", "v1", []resource{
		{"ingressclasses", "ingressclass", "IngressClass", false, std, nil, false},
		{"ingresses", "ingress", "Ingress", true, std, []string{"ing"}, false},
		{"networkpolicies", "networkpolicy", "NetworkPolicy", true, std, []string{"netpol"}, false},
	}},
	{"policy", "v1", []resource{{"poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, std, []string{"pdb"}, false}}},
	{"rbac.authorization.k8s.io", "v1", []resource{
		{"clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, std, nil, false},
		{"clusterroles", "clusterrole", "ClusterRole", false, std, nil, false},
		{"rolebindings", "rolebinding", "RoleBinding", true, std, nil, false},
		{"roles", "role", "Role", true, std, nil, false},
	}},
	{"storage.k8s.io", "v1", []resource{
		{"csidrivers", "csidriver", "CSIDriver", false, std, nil, false},
		{"csinodes", "csinode", "CSINode", false, std, nil, false},
		{"storageclasses", "storageclass", "StorageClass", false, std, []string{"sc"}, false},
		{"volumeattachments", "volumeattachment", "VolumeAttachment", false, std, nil, false},
	}},
	{"admissionregistration.k8s.io", "v1", []resource{
		{"mutatingwebhookconfigurations", "mutatingwebhookconfiguration", "MutatingWebhookConfiguration", false, std, nil, false},
		{"validatingwebhookconfigurations", "validatingwebhookconfiguration", "ValidatingWebhookConfiguration", false, std, nil, false},
	}},
	{"apiextensions.k8s.io", "v1", []resource{{"customresourcedefinitions", "customresourcedefinition", "CustomResourceDefinition", false, std, []string{"crd", "crds"}, false}}},
	{"scheduling.k8s.io", "v1", []resource{{"priorityclasses", "priorityclass", "PriorityClass", false, std, []string{"pc"}, false}}},
	{"coordination.k8s.io", "v1", []resource{{"leases", "lease", "Lease", true, std, nil, false}}},
	{"node.k8s.io", "v1", []resource{{"runtimeclasses", "runtimeclass", "RuntimeClass", false, std, nil, false}}},
	{"discovery.k8s.io", "v1", []resource{{"endpointslices", "endpointslice", "EndpointSlice", true, std, nil, false}}},
	{"flowcontrol.apiserver.k8s.io", "v1beta3", []resource{
		{"flowschemas", "flowschema", "FlowSchema", false, std, nil, false},
		{"prioritylevelconfigurations", "prioritylevelconfiguration", "PriorityLevelConfiguration", false, std, nil, false},
	}},
}

// storageVersionHash is the apiserver's: the first 8 bytes of
// sha256("group/version/kind"), base64.
func storageVersionHash(group, version, kind string) string {
	sum := sha256.Sum256([]byte(group + "/" + version + "/" + kind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

func (gv groupVersion) gvString() string {
	if gv.group == "" {
		return gv.version
	}
	return gv.group + "/" + gv.version
}

// resourceList is the APIResourceList of a group version.
func (gv groupVersion) resourceList() httpapi.Obj {
	var rs []any
	for _, r := range gv.resources {
		e := httpapi.O("name", r.name, "singularName", r.singular, "namespaced", r.namespaced, "kind", r.kind, "verbs", r.verbs)
		if len(r.short) > 0 {
			e = append(e, httpapi.KV{K: "shortNames", V: r.short})
		}
		if r.all {
			e = append(e, httpapi.KV{K: "categories", V: []string{"all"}})
		}
		if !strings.Contains(r.name, "/") && containsVerb(r.verbs, "list") {
			e = append(e, httpapi.KV{K: "storageVersionHash", V: storageVersionHash(gv.group, gv.version, r.kind)})
		}
		rs = append(rs, e)
	}
	return httpapi.O("kind", "APIResourceList", "apiVersion", "v1", "groupVersion", gv.gvString(), "resources", rs)
}

func containsVerb(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func groupList() httpapi.Obj {
	var gs []any
	for _, g := range groups {
		gvo := httpapi.O("groupVersion", g.gvString(), "version", g.version)
		gs = append(gs, httpapi.O("name", g.group, "versions", []any{gvo}, "preferredVersion", gvo))
	}
	return httpapi.O("kind", "APIGroupList", "apiVersion", "v1", "groups", gs)
}

func findGroupVersion(group, version string) (groupVersion, bool) {
	for _, g := range groups {
		if g.group == group && g.version == version {
			return g, true
		}
	}
	return groupVersion{}, false
}
