package elasticsearch

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/decnet/decnet/internal/service/httpapi"
)

// cell is one value of a _cat table; numbers are right-aligned.
type cell struct {
	s     string
	right bool
}

func str(s string) cell  { return cell{s: s} }
func num(n int64) cell   { return cell{s: strconv.FormatInt(n, 10), right: true} }
func numS(s string) cell { return cell{s: s, right: true} }

// table answers a _cat table as text (with ?v headers, ?h columns) or,
// with ?format=json, as an array of objects of strings.
func (s *Server) table(rc *reqCtx, cols []string, rows [][]cell) response {
	if h := rc.param("h"); h != "" {
		var idx []int
		for _, want := range strings.Split(h, ",") {
			for i, c := range cols {
				if c == strings.TrimSpace(want) {
					idx = append(idx, i)
				}
			}
		}
		nc := make([]string, len(idx))
		for j, i := range idx {
			nc[j] = cols[i]
		}
		nr := make([][]cell, len(rows))
		for r, row := range rows {
			nr[r] = make([]cell, len(idx))
			for j, i := range idx {
				nr[r][j] = row[i]
			}
		}
		cols, rows = nc, nr
	}
	switch rc.param("format") {
	case "json":
		arr := make([]any, 0, len(rows))
		for _, row := range rows {
			o := httpapi.O()
			for i, c := range cols {
				var v any = row[i].s
				if row[i].s == "-" || row[i].s == "" {
					v = nil
				}
				o = append(o, httpapi.KV{K: c, V: v})
			}
			arr = append(arr, o)
		}
		return s.json(rc, 200, arr)
	case "", "txt", "text":
	default:
		return s.errorResp(rc, 400, "illegal_argument_exception", "Unsupported format ["+rc.param("format")+"]")
	}
	verbose := rc.has("v") && rc.param("v") != "false"
	width := make([]int, len(cols))
	if verbose {
		for i, c := range cols {
			width[i] = len(c)
		}
	}
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c.s))
		}
	}
	var b strings.Builder
	line := func(cells []cell) {
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len(c.s))
			if c.right {
				b.WriteString(pad + c.s)
			} else {
				b.WriteString(c.s)
				if i < len(cells)-1 {
					b.WriteString(pad)
				}
			}
			if i < len(cells)-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	if verbose {
		hc := make([]cell, len(cols))
		for i, c := range cols {
			hc[i] = cell{s: c}
			if len(rows) > 0 {
				hc[i].right = rows[0][i].right
			}
		}
		line(hc)
	}
	for _, row := range rows {
		line(row)
	}
	return response{status: 200, body: []byte(b.String()), contentType: textType}
}

var catEndpoints = []string{"allocation", "shards", "shards/{index}", "master", "nodes", "tasks", "indices", "indices/{index}",
	"segments", "segments/{index}", "count", "count/{index}", "recovery", "recovery/{index}", "health", "pending_tasks",
	"aliases", "aliases/{alias}", "thread_pool", "thread_pool/{thread_pools}", "plugins", "fielddata", "fielddata/{fields}",
	"nodeattrs", "repositories", "snapshots/{repository}", "templates", "ml/anomaly_detectors", "ml/anomaly_detectors/{job_id}",
	"ml/trained_models", "ml/trained_models/{model_id}", "ml/datafeeds", "ml/datafeeds/{datafeed_id}", "ml/data_frame/analytics",
	"ml/data_frame/analytics/{id}", "transforms", "transforms/{transform_id}"}

func (s *Server) cat(rc *reqCtx) response {
	p := rc.parts
	if rc.req.Method != "GET" && rc.req.Method != "HEAD" {
		return s.noHandler(rc)
	}
	if len(p) == 1 {
		var b strings.Builder
		b.WriteString("=^.^=\n")
		for _, e := range catEndpoints {
			b.WriteString("/_cat/" + e + "\n")
		}
		return response{status: 200, body: []byte(b.String()), contentType: textType}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p[1] {
	case "indices":
		expr := "_all"
		if len(p) > 2 {
			expr = p[2]
		}
		names, missing := s.resolve(expr)
		if missing != "" {
			return s.indexNotFound(rc, missing)
		}
		var rows [][]cell
		for _, n := range names {
			ix := s.indices[n]
			size := byteSize(ix.storeBytes + int64(len(ix.docs))*40)
			rows = append(rows, []cell{str("yellow"), str("open"), str(n), str(ix.uuid), num(1), num(1),
				num(int64(ix.count())), num(int64(ix.deleted)), numS(size), numS(size)})
		}
		return s.table(rc, []string{"health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size", "pri.store.size"}, rows)
	case "health":
		now := s.now()
		n := len(s.indices)
		return s.table(rc, []string{"epoch", "timestamp", "cluster", "status", "node.total", "node.data", "shards", "pri", "relo", "init", "unassign", "pending_tasks", "max_task_wait_time", "active_shards_percent"},
			[][]cell{{num(now.Unix()), str(now.UTC().Format("15:04:05")), str(s.clusterName), str(s.health()), num(1), num(1),
				num(int64(n)), num(int64(n)), num(0), num(0), num(int64(n)), num(0), numS("-"), numS(s.activePercent() + "%")}})
	case "nodes":
		r := s.env.Identity.Rand("es-nodes-load")
		return s.table(rc, []string{"ip", "heap.percent", "ram.percent", "cpu", "load_1m", "load_5m", "load_15m", "node.role", "master", "name"},
			[][]cell{{str(rc.local), num(int64(20 + r.IntN(50))), num(int64(60 + r.IntN(35))), num(int64(r.IntN(12))),
				numS(fmt.Sprintf("%.2f", r.Float64()*2)), numS(fmt.Sprintf("%.2f", r.Float64()*1.5)), numS(fmt.Sprintf("%.2f", r.Float64())),
				str(s.roles()), str("*"), str(s.nodeName)}})
	case "count":
		expr := "_all"
		if len(p) > 2 {
			expr = p[2]
		}
		names, missing := s.resolve(expr)
		if missing != "" {
			return s.indexNotFound(rc, missing)
		}
		total := 0
		for _, n := range names {
			total += s.indices[n].count()
		}
		now := s.now()
		return s.table(rc, []string{"epoch", "timestamp", "count"}, [][]cell{{num(now.Unix()), str(now.UTC().Format("15:04:05")), num(int64(total))}})
	case "plugins", "aliases", "templates", "pending_tasks", "repositories":
		return s.table(rc, []string{"name"}, nil)
	case "master":
		return s.table(rc, []string{"id", "host", "ip", "node"}, [][]cell{{str(s.nodeID), str(rc.local), str(rc.local), str(s.nodeName)}})
	}
	return s.noHandler(rc)
}

func (s *Server) roles() string {
	if s.build.atLeast("7.12.0") {
		return "cdfhilmrstw"
	}
	return "cdhilmrstw"
}

// health is yellow: one node, indices with a replica that cannot be
// assigned, as every single-node install with default settings shows.
func (s *Server) health() string {
	if len(s.indices) == 0 {
		return "green"
	}
	return "yellow"
}

func (s *Server) activePercent() string {
	if len(s.indices) == 0 {
		return "100.0"
	}
	return "50.0"
}

func (s *Server) clusterHealth() httpapi.Obj {
	s.mu.Lock()
	n := len(s.indices)
	s.mu.Unlock()
	pct := 50.0
	if n == 0 {
		pct = 100.0
	}
	return httpapi.O("cluster_name", s.clusterName, "status", s.health(), "timed_out", false, "number_of_nodes", 1,
		"number_of_data_nodes", 1, "active_primary_shards", n, "active_shards", n, "relocating_shards", 0,
		"initializing_shards", 0, "unassigned_shards", n, "delayed_unassigned_shards", 0, "number_of_pending_tasks", 0,
		"number_of_in_flight_fetch", 0, "task_max_waiting_in_queue_millis", 0, "active_shards_percent_as_number", httpapi.JFloat(pct))
}

func (s *Server) nodes(rc *reqCtx) httpapi.Obj {
	r := s.env.Identity.Rand("es-nodes")
	d := s.env.Persona.Distro
	cpus := []int{2, 4, 4, 8, 8, 16}[r.IntN(6)]
	heap := int64([]int{1, 2, 4, 8}[r.IntN(4)]) << 30
	pid := 700 + r.IntN(30000)
	roleList := []any{"data", "data_cold", "data_content", "data_frozen", "data_hot", "data_warm", "ingest", "master", "ml", "remote_cluster_client", "transform"}
	if !s.build.atLeast("7.12.0") {
		roleList = []any{"data", "data_cold", "data_content", "data_hot", "data_warm", "ingest", "master", "ml", "remote_cluster_client", "transform"}
	}
	node := httpapi.O(
		"name", s.nodeName, "transport_address", rc.local+":9300", "host", rc.local, "ip", rc.local,
		"version", s.build.number, "build_flavor", "default", "build_type", "deb", "build_hash", s.build.hash,
		"total_indexing_buffer", heap/10, "roles", roleList,
		"attributes", httpapi.O("ml.machine_memory", strconv.FormatInt(int64(cpus)*4<<30, 10), "xpack.installed", "true",
			"transform.node", "true", "ml.max_open_jobs", "512", "ml.max_jvm_size", strconv.FormatInt(heap, 10)),
		"settings", httpapi.O(
			"cluster", httpapi.O("name", s.clusterName),
			"node", httpapi.O("name", s.nodeName),
			"path", httpapi.O("logs", "/var/log/elasticsearch", "home", "/usr/share/elasticsearch", "data", []any{"/var/lib/elasticsearch"}),
			"discovery", httpapi.O("type", "single-node"),
			"client", httpapi.O("type", "node"),
			"http", httpapi.O("type", "security4", "type.default", "netty4"),
			"transport", httpapi.O("type", "security4", "type.default", "netty4"),
			"network", httpapi.O("host", "0.0.0.0"),
			"xpack", httpapi.O("security", httpapi.O("enabled", "false"))),
		"os", httpapi.O("refresh_interval_in_millis", 1000, "name", "Linux", "pretty_name", d.PrettyName, "arch", "amd64",
			"version", d.Kernel, "available_processors", cpus, "allocated_processors", cpus),
		"process", httpapi.O("refresh_interval_in_millis", 1000, "id", pid, "mlockall", false),
		"jvm", httpapi.O("pid", pid, "version", s.build.jdk, "vm_name", "OpenJDK 64-Bit Server VM", "vm_version", s.build.jdk,
			"vm_vendor", "AdoptOpenJDK", "bundled_jdk", true, "using_bundled_jdk", true,
			"start_time_in_millis", s.start.UnixMilli(),
			"mem", httpapi.O("heap_init_in_bytes", heap, "heap_max_in_bytes", heap, "non_heap_init_in_bytes", 7667712,
				"non_heap_max_in_bytes", 0, "direct_max_in_bytes", 0),
			"gc_collectors", []any{"G1 Young Generation", "G1 Old Generation"},
			"memory_pools", []any{"CodeHeap 'non-nmethods'", "Metaspace", "CodeHeap 'profiled nmethods'", "Compressed Class Space", "G1 Eden Space", "G1 Old Gen", "G1 Survivor Space", "CodeHeap 'non-profiled nmethods'"},
			"using_compressed_ordinary_object_pointers", "true",
			"input_arguments", []any{"-Xshare:auto", "-Des.networkaddress.cache.ttl=60", "-XX:+UseG1GC", "-Djava.io.tmpdir=/tmp/elasticsearch-" + strconv.FormatUint(r.Uint64()%1e19, 10),
				"-XX:+HeapDumpOnOutOfMemoryError", "-XX:HeapDumpPath=/var/lib/elasticsearch", "-XX:ErrorFile=/var/log/elasticsearch/hs_err_pid%p.log",
				"-Xms" + strconv.FormatInt(heap>>20, 10) + "m", "-Xmx" + strconv.FormatInt(heap>>20, 10) + "m",
				"-Des.path.home=/usr/share/elasticsearch", "-Des.path.conf=/etc/elasticsearch", "-Des.distribution.flavor=default", "-Des.distribution.type=deb", "-Des.bundled_jdk=true"}),
		"transport", httpapi.O("bound_address", []any{"[::]:9300"}, "publish_address", rc.local+":9300", "profiles", httpapi.O()),
		"http", httpapi.O("bound_address", []any{"[::]:9200"}, "publish_address", rc.local+":9200", "max_content_length_in_bytes", 104857600),
	)
	return httpapi.O("_nodes", httpapi.O("total", 1, "successful", 1, "failed", 0), "cluster_name", s.clusterName,
		"nodes", httpapi.O(s.nodeID, node))
}
