package vault

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// allCapabilities are the capabilities sys/capabilities reports, in the
// order Vault's ACL lists them (policy/acl.go's Capabilities in OpenBao).
var allCapabilities = []string{capSudo, capRead, capList, capUpdate, capDelete, capCreate, capPatch}

// capabilitiesAPI serves sys/capabilities (another token's), sys/capabilities-self
// and sys/capabilities-accessor: what the token may do on each path, decided
// by the same evaluation that decides its requests.
func (s *Server) capabilitiesAPI(w http.ResponseWriter, r *http.Request, path string) error {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return errUnsupported
	}
	ctx := r.Context()
	var body struct {
		Token    string          `json:"token"`
		Accessor string          `json:"accessor"`
		Path     json.RawMessage `json:"path"`
		Paths    json.RawMessage `json:"paths"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	paths, err := capabilityPaths(body.Path, body.Paths)
	if err != nil {
		return err
	}
	caller, err := s.tokens.authenticate(ctx, r)
	if err != nil {
		return err
	}
	target := caller
	if path != "capabilities-self" {
		if err := s.policies.authorize(ctx, r, caller, capUpdate, "sys/"+path, "sys/"); err != nil {
			return err
		}
		if path == "capabilities" {
			target, err = s.tokens.lookup(ctx, body.Token)
		} else {
			target, err = s.tokens.byAccessor(ctx, body.Accessor)
		}
		if err != nil {
			return err
		}
		if target == nil {
			return badRequest("invalid token or accessor")
		}
	}
	data := map[string]any{}
	for _, p := range paths {
		caps, err := s.capabilitiesOn(ctx, r, target, p)
		if err != nil {
			return err
		}
		data[p] = caps
	}
	if len(paths) == 1 { // as Vault, for older clients
		data["capabilities"] = data[paths[0]]
	}
	respond(w, http.StatusOK, data, nil, "system")
	return nil
}

// maxCapabilityPaths bounds one capabilities request: each path is a
// policy evaluation per capability.
const maxCapabilityPaths = 128

// capabilityPaths reads "paths" (a list or a comma-separated string) or the
// older "path".
func capabilityPaths(one, many json.RawMessage) ([]string, error) {
	var out []string
	for _, raw := range []json.RawMessage{many, one} {
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, badRequest("'paths' must be a list of strings or a comma-separated string")
			}
			list = strings.Split(s, ",")
		}
		for _, p := range list {
			if p = strings.Trim(strings.TrimSpace(p), "/"); p != "" {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, badRequest("missing 'paths'")
	}
	if len(out) > maxCapabilityPaths {
		return nil, badRequest("%d paths asked; at most %d paths per request", len(out), maxCapabilityPaths)
	}
	return out, nil
}

// capabilitiesOn is what t may do on path: ["root"] for a root token,
// ["deny"] when nothing is allowed.
func (s *Server) capabilitiesOn(ctx context.Context, r *http.Request, t *Token, path string) ([]string, error) {
	if t.isRoot() {
		return []string{"root"}, nil
	}
	mount, err := s.mountOf(ctx, path)
	if err != nil {
		return nil, err
	}
	var caps []string
	for _, c := range allCapabilities {
		err := s.policies.authorize(ctx, r, t, c, path, mount)
		switch {
		case err == nil:
			caps = append(caps, c)
		case err != errPermissionDenied:
			return nil, err
		}
	}
	if len(caps) == 0 {
		return []string{"deny"}, nil
	}
	return caps, nil
}

// mountOf is the mount a path is decided under, as requests see it.
func (s *Server) mountOf(ctx context.Context, path string) (string, error) {
	switch {
	case strings.HasPrefix(path+"/", "sys/"):
		return "sys/", nil
	case strings.HasPrefix(path+"/", "auth/token/"):
		return "auth/token/", nil
	}
	m, _, ok, err := s.mounts.find(ctx, path)
	if err != nil || !ok {
		return "", err
	}
	return m.Path, nil
}

// tokenAuthMount is the token store as sys/auth lists it.
func tokenAuthMount() map[string]any {
	return authMount("token", "token based credentials", "auth_token_stratum", "auth_token_stratum")
}

// authMount is an auth method as sys/auth lists it, with Vault's keys.
func authMount(typ, description, accessor, uuid string) map[string]any {
	return map[string]any{"type": typ, "description": description, "accessor": accessor, "uuid": uuid,
		"options": nil, "local": false, "seal_wrap": false, "external_entropy_access": false,
		"plugin_version": "", "running_plugin_version": "", "deprecation_status": "",
		"config": map[string]any{"default_lease_ttl": 0, "max_lease_ttl": 0, "force_no_cache": false, "token_type": "default-service"}}
}

// authTune is an auth method's sys/auth/<path>/tune: the token store's limits.
func authTune(description string) map[string]any {
	return map[string]any{"default_lease_ttl": int64(defaultTTL.Seconds()), "max_lease_ttl": int64(maxTTL.Seconds()),
		"force_no_cache": false, "description": description, "token_type": "default-service"}
}

// authMethods serves sys/auth: the token store, always there, and AppRole at
// approle/ (approle_mount.go); enabling any other is a 400 that says so.
func (s *Server) authMethods(w http.ResponseWriter, r *http.Request, path string) error {
	ctx := r.Context()
	capability := capabilityOf(r)
	if path != "auth" {
		capability = capSudo
		if r.Method == http.MethodGet {
			capability = capRead
		}
	}
	if _, err := s.authorized(ctx, r, capability, "sys/"+path, "sys/"); err != nil {
		return err
	}
	name := strings.Trim(strings.TrimPrefix(path, "auth"), "/")
	switch {
	case name == "" && r.Method == http.MethodGet:
		data := map[string]any{"token/": tokenAuthMount()}
		out := map[string]any{"data": data, "request_id": w.Header().Get("X-Request-Id"), "token/": data["token/"]}
		cfg, err := s.approleEnabled(ctx)
		if err != nil {
			return err
		}
		if cfg != nil {
			data["approle/"], out["approle/"] = cfg.mount(), cfg.mount()
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	case name == "approle" || strings.HasPrefix(name, "approle/"):
		return s.approleMount(w, r, strings.TrimPrefix(strings.TrimPrefix(name, "approle"), "/"))
	case (name == "token" || name == "token/tune") && r.Method == http.MethodGet:
		data := tokenAuthMount()
		if name == "token/tune" {
			data = authTune("token based credentials")
		}
		respond(w, http.StatusOK, data, nil, "system")
		return nil
	case name == "token" || strings.HasPrefix(name, "token/"):
		return badRequest("the token auth method cannot be changed")
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		return badRequest("auth method at %q is not supported: this vault has the token store (auth/token/) and AppRole at approle/ only", name+"/")
	case r.Method == http.MethodDelete:
		noContent(w) // as Vault, disabling what is not enabled succeeds
		return nil
	}
	return errUnsupported
}

// hostInfo is Vault's sys/host-info (sudo): the host the serving instance runs on.
func (s *Server) hostInfo(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return errUnsupported
	}
	if _, err := s.authorized(r.Context(), r, capSudo, "sys/host-info", "sys/"); err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	host := map[string]any{"hostname": hostname, "os": runtime.GOOS, "platform": runtime.GOOS, "kernelArch": runtime.GOARCH}
	if raw, err := os.ReadFile("/proc/uptime"); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 0 {
			up, _ := strconv.ParseFloat(f[0], 64)
			host["uptime"] = uint64(up)
			host["bootTime"] = uint64(now().Unix()) - uint64(up)
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		host["kernelVersion"] = strings.TrimSpace(string(raw))
	}
	cpus := []map[string]any{}
	for i := range runtime.NumCPU() {
		cpus = append(cpus, map[string]any{"cpu": i, "cores": 1})
	}
	respond(w, http.StatusOK, map[string]any{"timestamp": vaultTime(now()), "host": host, "cpu": cpus,
		"memory": memInfo(), "disk": []any{}}, nil, "system")
	return nil
}

// memInfo reads /proc/meminfo in gopsutil's field names (as Vault reports),
// or nothing where there is no /proc.
func memInfo() map[string]any {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return map[string]any{}
	}
	defer f.Close()
	kb := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var name string
		var v uint64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d", &name, &v); err == nil {
			kb[strings.TrimSuffix(name, ":")] = v * 1024
		}
	}
	total, avail := kb["MemTotal"], kb["MemAvailable"]
	out := map[string]any{"total": total, "available": avail, "free": kb["MemFree"], "used": total - avail}
	if total > 0 {
		out["usedPercent"] = float64(total-avail) / float64(total) * 100
	}
	return out
}
