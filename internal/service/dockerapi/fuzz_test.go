package dockerapi

import "testing"

func FuzzParseCreate(f *testing.F) {
	f.Add([]byte(`{"Image":"alpine","Cmd":["sh","-c","id"],"HostConfig":{"Binds":["/:/host"],"Privileged":true,"PidMode":"host","CapAdd":["SYS_ADMIN"]}}`))
	f.Add([]byte(`{"Image":"xmrig/xmrig:latest","Entrypoint":"/xmrig","Env":["A=1"],"HostConfig":{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/x"}]}}`))
	f.Add([]byte(`{"Cmd":"x"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cb, err := parseCreate(data)
		if err != nil {
			return
		}
		_, _ = escapeReasons(cb)
		_, _ = normRef(cb.Image)
		_ = validRef(cb.Image)
	})
}
