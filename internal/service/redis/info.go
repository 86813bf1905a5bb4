package redis

import (
	"fmt"
	"strings"
	"time"
)

// info renders INFO [section ...] the way the persona's Redis does.
func (s *Server) info(args [][]byte, cn *conn) string {
	want := map[string]bool{}
	for _, a := range args {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["all"] || want["everything"] || want["default"]
	var b strings.Builder
	first := true
	for _, sec := range s.sections(cn) {
		if !all && !want[strings.ToLower(sec.name)] {
			continue
		}
		if sec.skipDefault && len(want) == 0 {
			continue
		}
		if !first {
			b.WriteString("\r\n")
		}
		first = false
		b.WriteString("# " + sec.name + "\r\n")
		for _, kv := range sec.kv {
			b.WriteString(kv[0] + ":" + kv[1] + "\r\n")
		}
	}
	return b.String()
}

type section struct {
	name        string
	kv          [][2]string
	skipDefault bool
}

func (s *Server) sections(cn *conn) []section {
	d := s.dialect
	id := s.env.Identity
	now := s.now()
	boot := s.bootTime()
	up := int64(now.Sub(boot).Seconds())
	r := id.Rand("redis-info")
	pid := 400 + r.IntN(3000)
	mem := []int64{2, 4, 8, 16, 32}[r.IntN(5)] << 30
	mem -= int64(r.IntN(200)) << 20
	runID := fmt.Sprintf("%x", id.Bytes(fmt.Sprintf("redis-run-id-%d", boot.Unix()), 20))
	replID := fmt.Sprintf("%x", id.Bytes(fmt.Sprintf("redis-replid-%d", boot.Unix()), 20))
	kernel := s.env.Persona.Distro.Kernel
	if kernel == "" {
		kernel = "6.1.0-28-amd64"
	}
	arch := "x86_64"
	if strings.Contains(kernel, "aarch64") || strings.Contains(kernel, "arm64") {
		arch = "aarch64"
	}
	st := s.store
	st.mu.Lock()
	keys, bytes := st.keys, st.bytes
	var keyspace [][2]string
	for db := range numDBs {
		live := st.sortedKeys(db)
		if len(live) == 0 {
			continue
		}
		exp := 0
		var ttl time.Duration
		for _, k := range live {
			if v := st.get(db, k); v != nil && !v.expireAt.IsZero() {
				exp++
				ttl += v.expireAt.Sub(now)
			}
		}
		avg := int64(0)
		if exp > 0 {
			avg = (ttl / time.Duration(exp)).Milliseconds()
		}
		keyspace = append(keyspace, [2]string{fmt.Sprintf("db%d", db), fmt.Sprintf("keys=%d,expires=%d,avg_ttl=%d", len(live), exp, avg)})
	}
	st.mu.Unlock()
	s.mu.Lock()
	masterHost, masterPort, lastSave, dirty := s.masterHost, s.masterPort, s.lastSave, s.dirty
	s.mu.Unlock()
	used := int64(866000+r.IntN(20000)) + int64(bytes) + int64(keys)*56
	rss := used*4 + int64(r.IntN(4<<20))
	human := func(n int64) string {
		switch {
		case n >= 1<<30:
			return fmtFloat(float64(n)/(1<<30), 2) + "G"
		case n >= 1<<20:
			return fmtFloat(float64(n)/(1<<20), 2) + "M"
		case n >= 1<<10:
			return fmtFloat(float64(n)/(1<<10), 2) + "K"
		}
		return itoa(int(n)) + "B"
	}
	i64 := func(n int64) string { return fmt.Sprint(n) }

	server := [][2]string{
		{"redis_version", s.build.version}, {"redis_git_sha1", "00000000"}, {"redis_git_dirty", "0"},
		{"redis_build_id", s.build.buildID}, {"redis_mode", "standalone"},
		{"os", "Linux " + kernel + " " + arch}, {"arch_bits", "64"},
	}
	if d.atLeast(6, 2) {
		server = append(server, [2]string{"monotonic_clock", "POSIX clock_gettime"})
	}
	server = append(server, [][2]string{{"multiplexing_api", "epoll"}, {"atomicvar_api", "c11-builtin"},
		{"gcc_version", s.build.gcc}, {"process_id", itoa(pid)}}...)
	if d.atLeast(6, 2) {
		server = append(server, [2]string{"process_supervised", "systemd"})
	}
	server = append(server, [][2]string{{"run_id", runID}, {"tcp_port", "6379"},
		{"server_time_usec", i64(now.UnixMicro())}, {"uptime_in_seconds", i64(up)}, {"uptime_in_days", i64(up / 86400)},
		{"hz", "10"}, {"configured_hz", "10"}, {"lru_clock", i64(now.Unix() & (1<<24 - 1))},
		{"executable", "/usr/bin/redis-server"}, {"config_file", s.build.config}}...)
	if d.atLeast(6, 0) {
		server = append(server, [2]string{"io_threads_active", "0"})
	}

	clients := [][2]string{{"connected_clients", i64(s.clients.Load())}}
	if d.atLeast(7, 0) {
		clients = append(clients, [2]string{"cluster_connections", "0"})
	}
	clients = append(clients, [][2]string{{"maxclients", "10000"}, {"client_recent_max_input_buffer", "20480"},
		{"client_recent_max_output_buffer", "0"}, {"blocked_clients", "0"}}...)
	if d.atLeast(6, 0) {
		clients = append(clients, [2]string{"tracking_clients", "0"}, [2]string{"clients_in_timeout_table", "0"})
	}

	memory := [][2]string{{"used_memory", i64(used)}, {"used_memory_human", human(used)},
		{"used_memory_rss", i64(rss)}, {"used_memory_rss_human", human(rss)},
		{"used_memory_peak", i64(used + 18000)}, {"used_memory_peak_human", human(used + 18000)},
		{"used_memory_peak_perc", fmtFloat(100*float64(used)/float64(used+18000), 2) + "%"},
		{"used_memory_overhead", i64(866000 + int64(keys)*56)}, {"used_memory_startup", "862168"},
		{"used_memory_dataset", i64(int64(bytes))},
		{"total_system_memory", i64(mem)}, {"total_system_memory_human", human(mem)},
		{"used_memory_lua", "31744"}, {"used_memory_lua_human", "31.00K"},
		{"maxmemory", "0"}, {"maxmemory_human", "0B"}, {"maxmemory_policy", "noeviction"},
		{"mem_fragmentation_ratio", fmtFloat(float64(rss)/float64(used), 2)},
		{"mem_allocator", s.build.malloc}, {"active_defrag_running", "0"}, {"lazyfree_pending_objects", "0"}}

	persistence := [][2]string{{"loading", "0"}}
	if d.atLeast(7, 0) {
		persistence = append(persistence, [2]string{"async_loading", "0"})
	}
	persistence = append(persistence, [][2]string{{"rdb_changes_since_last_save", itoa(dirty)},
		{"rdb_bgsave_in_progress", "0"}, {"rdb_last_save_time", i64(lastSave.Unix())}, {"rdb_last_bgsave_status", "ok"},
		{"rdb_last_bgsave_time_sec", "0"}, {"rdb_current_bgsave_time_sec", "-1"},
		{"aof_enabled", "0"}, {"aof_rewrite_in_progress", "0"}, {"aof_rewrite_scheduled", "0"},
		{"aof_last_rewrite_time_sec", "-1"}, {"aof_current_rewrite_time_sec", "-1"},
		{"aof_last_bgrewrite_status", "ok"}, {"aof_last_write_status", "ok"}}...)

	stats := [][2]string{{"total_connections_received", i64(s.connections.Load())},
		{"total_commands_processed", i64(s.commands.Load())}, {"instantaneous_ops_per_sec", "0"},
		{"total_net_input_bytes", i64(s.commands.Load() * 37)}, {"total_net_output_bytes", i64(s.commands.Load() * 211)},
		{"instantaneous_input_kbps", "0.00"}, {"instantaneous_output_kbps", "0.00"}, {"rejected_connections", "0"},
		{"sync_full", "0"}, {"sync_partial_ok", "0"}, {"sync_partial_err", "0"}, {"expired_keys", i64(up / 97)},
		{"evicted_keys", "0"}, {"keyspace_hits", i64(s.commands.Load() / 3)}, {"keyspace_misses", i64(s.commands.Load() / 11)},
		{"pubsub_channels", "0"}, {"pubsub_patterns", "0"}, {"latest_fork_usec", itoa(200 + r.IntN(600))},
		{"migrate_cached_sockets", "0"}}
	if d.atLeast(6, 2) {
		stats = append(stats, [2]string{"total_error_replies", i64(s.errors.Load())})
	}

	repl := [][2]string{}
	if masterHost == "" {
		repl = append(repl, [2]string{"role", "master"}, [2]string{"connected_slaves", "0"})
	} else {
		repl = append(repl, [][2]string{{"role", "slave"}, {"master_host", masterHost}, {"master_port", masterPort},
			{"master_link_status", "down"}, {"master_last_io_seconds_ago", "-1"}, {"master_sync_in_progress", "0"},
			{"slave_read_repl_offset", "1"}, {"slave_repl_offset", "1"}, {"master_link_down_since_seconds", "-1"},
			{"slave_priority", "100"}, {"slave_read_only", "1"}, {"replica_announced", "1"}, {"connected_slaves", "0"}}...)
	}
	repl = append(repl, [][2]string{{"master_failover_state", "no-failover"}, {"master_replid", replID},
		{"master_replid2", "0000000000000000000000000000000000000000"}, {"master_repl_offset", "0"},
		{"second_repl_offset", "-1"}, {"repl_backlog_active", "0"}, {"repl_backlog_size", "1048576"},
		{"repl_backlog_first_byte_offset", "0"}, {"repl_backlog_histlen", "0"}}...)

	cpuSys := float64(up) * 0.00041 * (1 + float64(r.IntN(100))/100)
	cpu := [][2]string{{"used_cpu_sys", fmtFloat(cpuSys, 6)}, {"used_cpu_user", fmtFloat(cpuSys*0.83, 6)},
		{"used_cpu_sys_children", "0.000000"}, {"used_cpu_user_children", "0.000000"}}

	out := []section{{name: "Server", kv: server}, {name: "Clients", kv: clients}, {name: "Memory", kv: memory},
		{name: "Persistence", kv: persistence}, {name: "Stats", kv: stats}, {name: "Replication", kv: repl},
		{name: "CPU", kv: cpu}}
	if d.atLeast(7, 0) {
		out = append(out, section{name: "Modules"})
	}
	if d.atLeast(6, 2) {
		out = append(out, section{name: "Errorstats"})
	}
	out = append(out, section{name: "Cluster", kv: [][2]string{{"cluster_enabled", "0"}}},
		section{name: "Keyspace", kv: keyspace})
	return out
}
