// Package elasticsearch describes the elasticsearch service. Elasticsearch: the root banner, cat and cluster APIs and search over bait indices.
//
// It is described but not implemented yet: decnet services lists it, and
// validation refuses to deploy it (SERVICE_NOT_IMPLEMENTED).
package elasticsearch

import (
	"github.com/decnet/decnet/internal/service"
)

// Settings are the elasticsearch service's settings.
type Settings struct {
	Version     string `json:"version" doc:"Elasticsearch version"`
	ClusterName string `json:"cluster_name" doc:"Cluster name"`
}

func init() {
	service.Register(service.Info{
		ID: "elasticsearch", Title: "Elasticsearch node", Ports: service.TCPPorts(9200),
		Settings: func() any { return &Settings{} },
		Legacy:   []service.Legacy{{Key: "es_version", Setting: "version"}},
	})
}
