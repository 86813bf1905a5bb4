// Package redis emulates a Redis server on 6379 for a decky.
//
// # What it emulates
//
// A standalone Redis speaking RESP2, multibulk and inline requests (with
// sdssplitargs quoting), without requirepass unless configured. Implemented:
// AUTH, HELLO (RESP2 only), PING, ECHO, QUIT (+OK, then close), INFO with
// sections, CONFIG GET/SET/RESETSTAT/REWRITE/HELP, CLIENT ID/GETNAME/SETNAME/
// LIST/INFO/KILL, COMMAND (table, COUNT, INFO, DOCS, GETKEYS), SELECT, KEYS,
// SCAN (MATCH, COUNT, TYPE), GET, SET (NX, XX, GET, EX, PX, EXAT, PXAT,
// KEEPTTL), MGET, APPEND, INCR, STRLEN, DEL, EXISTS, TYPE, TTL, PTTL, EXPIRE,
// PERSIST, RANDOMKEY, DBSIZE, FLUSHALL, FLUSHDB, HGET, HGETALL, LLEN, LRANGE,
// SMEMBERS, SCARD, SAVE, BGSAVE, LASTSAVE, TIME, ROLE, SLAVEOF/REPLICAOF,
// MODULE LIST/LOAD/UNLOAD and EVAL (always a script error). Other commands get
// the version's exact "unknown command" error. The keyspace is per decky,
// shared by its connections like a real server's, seeded from the decky's
// identity with sessions, cached config, users (hashes), a job queue (list)
// and an online set; it is bounded (20000 keys, 16 MiB) and answers OOM
// beyond. CONFIG SET dir/dbfilename, SLAVEOF and MODULE LOAD are stored or
// recorded so the classic exploitation chains run to the end; nothing is
// ever written to disk, loaded or connected to.
//
// One goroutine per connection (serve.TCP); the Server's mutex guards
// the config, replication and save state; the store has its own mutex.
// Requests are bounded: 1024 arguments, 512 KiB per bulk, 1 MiB per
// request, 64 KiB per inline line; a violation gets Redis's protocol error
// and the connection is closed, as Redis does.
//
// # Persona fields used
//
// Persona.Distro.Slug picks the packaged version (Debian 12 7.0.15, Ubuntu
// 22.04 6.0.16, Ubuntu 20.04 5.0.7, Rocky 9 6.2.7, CentOS 7 3.2.12, Alpine
// 3.19 7.2.4, ...), its gcc and allocator and the config file path;
// Persona.Distro.Kernel gives INFO's os line ("Linux 6.1.0-28-amd64 x86_64").
// Identity gives the uptime (Identity.Uptime), the run_id and replid (per
// decky and per claimed boot), the process id, total memory, the first
// client id and the counters' starting values, and the seeded keys.
//
// # Config keys
//
//   - version: overrides the Redis version (reply texts follow it: 7.x single
//     quotes, 6.x backticks, 5.x and 3.x older AUTH texts).
//   - password: requirepass; every command but AUTH, HELLO and QUIT then
//     answers NOAUTH until AUTH succeeds.
//
// # Events emitted
//
//   - redis.command.input for every command except AUTH: command, args (first
//     32 as text, 512 bytes each), args_b64 (every argument, lossless, up to
//     64 KiB), argc, db.
//   - redis.login.failed / redis.login.success for AUTH and HELLO AUTH, with a
//     plaintext credential (principal "default" or the given user).
//   - redis.file.upload on SAVE/BGSAVE when dir or dbfilename were changed:
//     path, target (crontab, ssh_authorized_keys, webshell, module, file), the
//     attacker-written keys, and the payload (their string values) stored in
//     the quarantine under its SHA-256.
//   - redis.exploit.attempt for SLAVEOF/REPLICAOF host port (rogue master),
//     MODULE LOAD (path) and EVAL scripts that reach for package.loadlib and
//     friends (CVE-2022-0543).
//   - redis.protocol.error for a malformed request (then the close), and
//     for an HTTP request (a "POST" or "Host:" command): Redis logs
//     "Possible SECURITY ATTACK detected" and drops the client, queued
//     replies included.
//
// # Known tells and how we avoid them
//
//   - ACL LIST/USERS/WHOAMI, DEBUG (refused by 7.0's enable-debug-command
//     no; DEBUG OBJECT before), MEMORY DOCTOR and SLOWLOG answering
//     "unknown command": answered as the claimed version, byte-identical to
//     Debian's redis-server 7.0 (TestAgainstRealRedis), as are inline
//     lines with a NUL (Redis's strchr never finds their end: silence
//     until the 64 KiB inline limit).
//   - QUIT answering "unknown command", missing SET/SAVE/SLAVEOF/MODULE (the
//     original's tells): implemented with the real replies.
//   - Error texts differ between versions; each text follows the claimed
//     version (checked against redis-server 7.0.15).
//   - A global run_id or version across installs: run_id comes from the
//     decky's seeded identity and its claimed boot; the version and build id
//     from the distro's package.
//   - nmap's redis probe (INFO) reads redis_version: it names "Redis
//     key-value store <version>".
//   - Deliberate deviation: Redis 7's defaults refuse CONFIG SET dir
//     (protected configs) and MODULE LOAD; this decoy models an instance with
//     enable-protected-configs and enable-module-command set to yes (CONFIG
//     GET shows it) so the attack chains complete and are captured.
//   - Not emulated: RESP3, MULTI/EXEC, pub/sub, real replication (no
//     PSYNC is ever sent to a rogue master), Lua execution.
package redis
