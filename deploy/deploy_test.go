package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tapdlp/tapdlp/config"
)

const (
	configPath = "/etc/tapdlp/tapdlp.yaml"
	stateDir   = "/var/lib/tapdlp"
)

// checker inspects one packaging file and returns what is wrong with it.
type checker struct {
	file  string
	check func(data []byte) []string
}

var checkers = []checker{
	{"compose.yaml", checkCompose},
	{"daemonset.yaml", checkDaemonSet},
	{"tapdlp.service", checkUnit},
	{"../Dockerfile", checkDockerfile},
	{"tapdlp.yaml", checkConfig},
}

func TestPackagingFiles(t *testing.T) {
	for _, c := range checkers {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.check(data) {
				t.Error(p)
			}
		})
	}
}

// TestChecksCanFail breaks each promised setting in a copy of the real file
// and expects the checker to notice: a check that cannot fail is theatre.
func TestChecksCanFail(t *testing.T) {
	tests := []struct {
		file, old, new string
	}{
		{"compose.yaml", "network_mode: host", "network_mode: bridge"},
		{"compose.yaml", "cap_add: [NET_RAW]", "cap_add: [NET_RAW, NET_ADMIN]"},
		{"compose.yaml", "cap_add: [NET_RAW]", "cap_add: []"},
		{"compose.yaml", "cap_drop: [ALL]", "cap_drop: []"},
		{"compose.yaml", `user: "65532:65532"`, `user: "0:0"`},
		{"compose.yaml", "read_only: true", "privileged: true"},
		{"compose.yaml", "- tapdlp-state:/var/lib/tapdlp", "- tapdlp-state:/data"},
		{"daemonset.yaml", "hostNetwork: true", "hostNetwork: false"},
		{"daemonset.yaml", "interfaces: [eth1]", "interfaces: []"},
		{"daemonset.yaml", `"-metrics", "$(POD_IP):9740"`, `"-metrics", "127.0.0.1:9740"`},
		{"daemonset.yaml", "fieldPath: status.podIP", "fieldPath: status.hostIP2"},
		{"daemonset.yaml", "containerPort: 9740", "containerPort: 9741"},
		{"daemonset.yaml", `prometheus.io/scrape: "true"`, `prometheus.io/scrape: "false"`},
		{"daemonset.yaml", `prometheus.io/port: "9740"`, `prometheus.io/port: "9090"`},
		{"daemonset.yaml", "imagePullPolicy: IfNotPresent", "imagePullPolicy: \"\""},
		{"daemonset.yaml", "pod-security.kubernetes.io/enforce: privileged", "pod-security.kubernetes.io/enforce: baseline"},
		{"daemonset.yaml", "kind: Namespace\nmetadata:\n  name: tapdlp", "kind: Namespace\nmetadata:\n  name: other"},
		{"daemonset.yaml", "priorityClassName: tapdlp-node-agent", "priorityClassName: nonexistent"},
		{"daemonset.yaml", "value: 1000000", "value: 0"},
		{"daemonset.yaml", "        - operator: Exists", "        - operator: Equal"},
		{"daemonset.yaml", "format: json", "format: text"},
		{"daemonset.yaml", "{name: stdout, type: stdout}", "{name: f, type: file, path: /var/lib/tapdlp/r.jsonl}"},
		{"tapdlp.yaml", "interfaces: [eth1]", "interfaces: []"},
		{"daemonset.yaml", `add: ["NET_RAW"]`, `add: ["NET_RAW", "NET_ADMIN"]`},
		{"daemonset.yaml", `drop: ["ALL"]`, `drop: []`},
		{"daemonset.yaml", "        runAsNonRoot: true\n        runAsUser: 65532", "        runAsNonRoot: false\n        runAsUser: 65532"},
		{"daemonset.yaml", "runAsUser: 65532", "runAsUser: 0"},
		{"daemonset.yaml", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation: false"},
		{"daemonset.yaml", "path: /healthz", "path: /metrics"},
		{"daemonset.yaml", "path: /readyz", "path: /"},
		{"daemonset.yaml", "              port: metrics\n              path: /healthz", "              port: 9741\n              path: /healthz"},
		{"daemonset.yaml", "              port: metrics\n              path: /readyz", "              host: 127.0.0.1\n              port: metrics\n              path: /readyz"},
		{"daemonset.yaml", "memcap: 256MiB", "memcap: lots"},
		{"daemonset.yaml", "name: tapdlp-config\n", "name: other-config\n"},
		{"tapdlp.service", "AmbientCapabilities=CAP_NET_RAW", "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN"},
		{"tapdlp.service", "CapabilityBoundingSet=CAP_NET_RAW", "CapabilityBoundingSet=CAP_NET_RAW CAP_SYS_ADMIN"},
		{"tapdlp.service", "NoNewPrivileges=yes", "NoNewPrivileges=no"},
		{"tapdlp.service", "ProtectSystem=strict", "ProtectSystem=full"},
		{"tapdlp.service", "StateDirectory=tapdlp", "StateDirectory=other"},
		{"tapdlp.service", "Restart=on-failure", "Restart=no"},
		{"tapdlp.service", "ExecReload=/bin/kill -HUP $MAINPID", "ExecReload=/bin/true"},
		{"tapdlp.service", "DynamicUser=yes", "DynamicUser=no"},
		{"../Dockerfile", "CGO_ENABLED=0 go build", "go build"},
		{"../Dockerfile", "-X main.commit=${COMMIT}", "-X main.revision=${COMMIT}"},
		{"../Dockerfile", "USER 65532:65532", "USER root"},
		{"../Dockerfile", "setcap cap_net_raw+ep", "setcap cap_net_raw,cap_net_admin+ep"},
		{"../Dockerfile", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:12"},
		{"../Dockerfile", `CMD ["run", "-c", "/etc/tapdlp/tapdlp.yaml"]`, `CMD ["replay"]`},
		{"tapdlp.yaml", "state_dir: /var/lib/tapdlp", "state_dir: /tmp"},
		{"tapdlp.yaml", "dedup_window: 10m", "dedup_windw: 10m"},
	}
	byName := map[string]func([]byte) []string{}
	for _, c := range checkers {
		byName[c.file] = c.check
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file)+": "+tt.new, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(tt.old)) {
				t.Fatalf("%s no longer contains %q; update this test", tt.file, tt.old)
			}
			broken := bytes.Replace(data, []byte(tt.old), []byte(tt.new), 1)
			if p := byName[tt.file](broken); len(p) == 0 {
				t.Errorf("replacing %q by %q in %s went unnoticed", tt.old, tt.new, tt.file)
			}
		})
	}
}

func checkCompose(data []byte) []string {
	var doc struct {
		Services map[string]struct {
			NetworkMode string   `yaml:"network_mode"`
			CapAdd      []string `yaml:"cap_add"`
			CapDrop     []string `yaml:"cap_drop"`
			User        string   `yaml:"user"`
			Privileged  bool     `yaml:"privileged"`
			SecurityOpt []string `yaml:"security_opt"`
			Volumes     []string `yaml:"volumes"`
			Command     []string `yaml:"command"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []string{"compose: " + err.Error()}
	}
	s, ok := doc.Services["tapdlp"]
	if !ok {
		return []string{"compose: no tapdlp service"}
	}
	var p []string
	if s.NetworkMode != "host" {
		p = append(p, "compose: network_mode is "+s.NetworkMode+", want host (the sensor must see the host's interfaces)")
	}
	p = append(p, checkCaps("compose cap_add", s.CapAdd, "NET_RAW")...)
	if !slices.Contains(s.CapDrop, "ALL") {
		p = append(p, "compose: cap_drop lacks ALL")
	}
	if !nonRootUser(s.User) {
		p = append(p, "compose: user "+s.User+" is not a non-root uid:gid")
	}
	if s.Privileged {
		p = append(p, "compose: privileged")
	}
	for _, o := range s.SecurityOpt {
		if strings.HasPrefix(o, "no-new-privileges") {
			p = append(p, "compose: no-new-privileges disables the binary's file capabilities")
		}
	}
	if !hasMount(s.Volumes, configPath, true) || !hasMount(s.Volumes, stateDir, false) {
		p = append(p, "compose: volumes must mount the config read-only at "+configPath+" and state at "+stateDir)
	}
	if strings.Join(s.Command, " ") != "run -c "+configPath {
		p = append(p, "compose: command is not run -c "+configPath)
	}
	return p
}

// hasMount reports whether vols ("src:dst[:ro]") mounts something at dst.
func hasMount(vols []string, dst string, ro bool) bool {
	for _, v := range vols {
		f := strings.Split(v, ":")
		if len(f) >= 2 && f[1] == dst && (!ro || (len(f) == 3 && f[2] == "ro")) {
			return true
		}
	}
	return false
}

type k8sDoc struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data  map[string]string `yaml:"data"`
	Value int               `yaml:"value"`
	Spec  struct {
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	HostNetwork       bool   `yaml:"hostNetwork"`
	PriorityClassName string `yaml:"priorityClassName"`
	Tolerations       []struct {
		Key      string `yaml:"key"`
		Operator string `yaml:"operator"`
	} `yaml:"tolerations"`
	SecurityContext securityContext `yaml:"securityContext"`
	Containers      []struct {
		Name            string   `yaml:"name"`
		Args            []string `yaml:"args"`
		ImagePullPolicy string   `yaml:"imagePullPolicy"`
		Env             []struct {
			Name      string `yaml:"name"`
			ValueFrom struct {
				FieldRef struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		SecurityContext securityContext `yaml:"securityContext"`
		LivenessProbe   probe           `yaml:"livenessProbe"`
		ReadinessProbe  probe           `yaml:"readinessProbe"`
		VolumeMounts    []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		EmptyDir *struct{} `yaml:"emptyDir"`
		HostPath *struct {
			Path string `yaml:"path"`
		} `yaml:"hostPath"`
	} `yaml:"volumes"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	Privileged               bool  `yaml:"privileged"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Add  []string `yaml:"add"`
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
}

type probe struct {
	HTTPGet struct {
		Host string `yaml:"host"`
		Port string `yaml:"port"`
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

func checkDaemonSet(data []byte) []string {
	var docs []k8sDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var d k8sDoc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return []string{"daemonset: " + err.Error()}
		}
		docs = append(docs, d)
	}
	var ds *k8sDoc
	configMaps := map[string]map[string]string{}
	for i := range docs {
		switch docs[i].Kind {
		case "DaemonSet":
			ds = &docs[i]
		case "ConfigMap":
			configMaps[docs[i].Metadata.Name] = docs[i].Data
		}
	}
	if ds == nil {
		return []string{"daemonset: no DaemonSet"}
	}
	pod := ds.Spec.Template.Spec
	var p []string
	if !pod.HostNetwork {
		p = append(p, "daemonset: hostNetwork is not true")
	}
	if len(pod.Containers) != 1 {
		return append(p, "daemonset: want exactly one container")
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	p = append(p, checkCaps("daemonset capabilities.add", sc.Capabilities.Add, "NET_RAW")...)
	if !slices.Contains(sc.Capabilities.Drop, "ALL") {
		p = append(p, "daemonset: capabilities.drop lacks ALL")
	}
	for _, x := range []securityContext{pod.SecurityContext, sc} {
		if x.RunAsNonRoot != nil && !*x.RunAsNonRoot {
			p = append(p, "daemonset: runAsNonRoot false")
		}
		if x.RunAsUser != nil && *x.RunAsUser == 0 {
			p = append(p, "daemonset: runAsUser 0")
		}
		if x.Privileged {
			p = append(p, "daemonset: privileged")
		}
	}
	if (pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot) && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
		p = append(p, "daemonset: runAsNonRoot not set")
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		p = append(p, "daemonset: allowPrivilegeEscalation false sets no_new_privs, which disables the binary's file capabilities")
	}
	for _, pr := range []struct {
		name string
		p    probe
		path string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if g := pr.p.HTTPGet; g.Host != "" || (g.Port != "metrics" && g.Port != "9740") || g.Path != pr.path {
			p = append(p, "daemonset: "+pr.name+" probe is not GET (pod IP):9740"+pr.path)
		}
	}
	if strings.Join(c.Args, " ") != "run -c "+configPath+" -metrics $(POD_IP):9740" {
		p = append(p, "daemonset: args are not run -c "+configPath+" -metrics $(POD_IP):9740 (metrics on the pod IP)")
	}
	p = append(p, checkNodeAgent(docs, ds, pod)...)
	mounts := map[string]string{} // mount path → volume name
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	var cfgOK, stateOK bool
	for _, v := range pod.Volumes {
		switch v.Name {
		case mounts[filepath.Dir(configPath)]:
			if v.ConfigMap != nil {
				data, ok := configMaps[v.ConfigMap.Name]
				if !ok {
					p = append(p, "daemonset: ConfigMap "+v.ConfigMap.Name+" is not defined in the file")
					continue
				}
				cfgOK = true
				text := data[filepath.Base(configPath)]
				for _, e := range checkConfig([]byte(text)) {
					p = append(p, "daemonset ConfigMap: "+e)
				}
				if !strings.Contains(text, "type: stdout") || !regexp.MustCompile(`(?m)^\s*log:\n\s+(#.*\n\s+)*format: json`).MatchString(text) {
					p = append(p, "daemonset ConfigMap: records on stdout need log.format json on stderr, apart from them")
				}
			}
		case mounts[stateDir]:
			stateOK = v.EmptyDir != nil || v.HostPath != nil
		}
	}
	if !cfgOK {
		p = append(p, "daemonset: no ConfigMap volume mounted at "+filepath.Dir(configPath))
	}
	if !stateOK {
		p = append(p, "daemonset: no emptyDir or hostPath volume mounted at "+stateDir)
	}
	return p
}

// checkNodeAgent checks what makes the DaemonSet work as shipped: metrics
// reachable on the pod IP and announced for scraping, an explicit pull
// policy, a Namespace with the pod-security level hostNetwork and NET_RAW
// need, tolerations and a priority class fit for a node agent, and records
// (stdout) kept apart from JSON logs (stderr).
func checkNodeAgent(docs []k8sDoc, ds *k8sDoc, pod podSpec) []string {
	var p []string
	c := pod.Containers[0]
	podIP := false
	for _, e := range c.Env {
		podIP = podIP || (e.Name == "POD_IP" && e.ValueFrom.FieldRef.FieldPath == "status.podIP")
	}
	if !podIP {
		p = append(p, "daemonset: no POD_IP from status.podIP for -metrics")
	}
	port := false
	for _, cp := range c.Ports {
		port = port || (cp.Name == "metrics" && cp.ContainerPort == 9740)
	}
	if !port {
		p = append(p, "daemonset: no container port metrics=9740")
	}
	if a := ds.Spec.Template.Metadata.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != "9740" || a["prometheus.io/path"] != "/metrics" {
		p = append(p, "daemonset: pod lacks prometheus.io scrape/port/path annotations for 9740/metrics")
	}
	switch c.ImagePullPolicy {
	case "Always", "IfNotPresent", "Never":
	default:
		p = append(p, "daemonset: imagePullPolicy not set explicitly")
	}
	var ns *k8sDoc
	classes := map[string]bool{"system-node-critical": true, "system-cluster-critical": true}
	for i := range docs {
		switch docs[i].Kind {
		case "Namespace":
			if docs[i].Metadata.Name == ds.Metadata.Namespace {
				ns = &docs[i]
			}
		case "PriorityClass":
			classes[docs[i].Metadata.Name] = docs[i].Value > 0
		}
	}
	if ns == nil {
		p = append(p, "daemonset: its namespace "+ds.Metadata.Namespace+" is not defined in the file")
	} else if ns.Metadata.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
		p = append(p, "daemonset: namespace lacks pod-security.kubernetes.io/enforce: privileged (hostNetwork, NET_RAW)")
	}
	if !classes[pod.PriorityClassName] {
		p = append(p, "daemonset: priorityClassName "+pod.PriorityClassName+" is neither a system class nor a positive PriorityClass in the file")
	}
	all := false
	for _, t := range pod.Tolerations {
		all = all || (t.Key == "" && t.Operator == "Exists")
	}
	if !all {
		p = append(p, "daemonset: no toleration of every taint (operator: Exists)")
	}
	return p
}

// checkCaps wants exactly the capabilities want: fewer cannot capture, more
// is privilege the sensor does not need.
func checkCaps(what string, got []string, want ...string) []string {
	g := slices.Clone(got)
	slices.Sort(g)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		return []string{what + ": " + strings.Join(got, ",") + ", want exactly " + strings.Join(want, ",")}
	}
	return nil
}

func nonRootUser(u string) bool {
	uid, _, _ := strings.Cut(u, ":")
	return uid != "" && uid != "0" && uid != "root"
}

// unit parses a systemd unit into section → key → values (a key may repeat).
func unit(data []byte) map[string]map[string][]string {
	u := map[string]map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			sec = strings.Trim(line, "[]")
			u[sec] = map[string][]string{}
		default:
			if k, v, ok := strings.Cut(line, "="); ok && sec != "" {
				u[sec][strings.TrimSpace(k)] = append(u[sec][strings.TrimSpace(k)], strings.TrimSpace(v))
			}
		}
	}
	return u
}

func checkUnit(data []byte) []string {
	s := unit(data)["Service"]
	if s == nil {
		return []string{"unit: no [Service] section"}
	}
	one := func(k string) string {
		if v := s[k]; len(v) == 1 {
			return v[0]
		}
		return ""
	}
	var p []string
	p = append(p, checkCaps("unit AmbientCapabilities", strings.Fields(one("AmbientCapabilities")), "CAP_NET_RAW")...)
	p = append(p, checkCaps("unit CapabilityBoundingSet", strings.Fields(one("CapabilityBoundingSet")), "CAP_NET_RAW")...)
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "StateDirectory": "tapdlp", "Restart": "on-failure",
		"ExecReload": "/bin/kill -HUP $MAINPID",
	} {
		if got := one(k); got != want {
			p = append(p, "unit: "+k+"="+got+", want "+want)
		}
	}
	if one("DynamicUser") != "yes" && !nonRootUser(one("User")) {
		p = append(p, "unit: neither DynamicUser=yes nor a non-root User=")
	}
	if !strings.HasSuffix(one("ExecStart"), " run -c "+configPath) {
		p = append(p, "unit: ExecStart does not run -c "+configPath)
	}
	return p
}

// instructions returns a Dockerfile's instructions with continuation lines
// joined and comments dropped.
func instructions(data []byte) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

var buildRE = regexp.MustCompile(`^RUN CGO_ENABLED=0 go build -trimpath .*-ldflags "-s -w -X main\.version=\$\{VERSION\} -X main\.commit=\$\{COMMIT\} -X main\.date=\$\{DATE\}"`)

func checkDockerfile(data []byte) []string {
	ins := instructions(data)
	var p []string
	var froms []string
	var build, setcap bool
	user, entry, cmd := "", "", ""
	for _, in := range ins {
		op, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(op) {
		case "FROM":
			froms = append(froms, rest)
		case "RUN":
			build = build || buildRE.MatchString(in)
			if i := strings.Index(rest, "setcap "); i >= 0 {
				f := strings.Fields(rest[i:])
				setcap = len(f) >= 3 && f[1] == "cap_net_raw+ep"
			}
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entry = rest
		case "CMD":
			cmd = rest
		}
	}
	if len(froms) < 2 || !strings.HasPrefix(froms[0], "golang:1.26 ") {
		p = append(p, "Dockerfile: want a golang:1.26 builder stage and a final stage")
	} else if last := froms[len(froms)-1]; !strings.HasPrefix(last, "gcr.io/distroless/static") && last != "scratch" {
		p = append(p, "Dockerfile: final stage "+last+" is not distroless static or scratch")
	}
	if !build {
		p = append(p, "Dockerfile: no RUN CGO_ENABLED=0 go build -trimpath with -s -w and the version -X flags")
	}
	if !setcap {
		p = append(p, "Dockerfile: the binary must get exactly cap_net_raw+ep")
	}
	if !nonRootUser(user) {
		p = append(p, "Dockerfile: USER "+user+" is not non-root")
	}
	if entry != `["/usr/bin/tapdlp"]` {
		p = append(p, "Dockerfile: ENTRYPOINT "+entry)
	}
	if cmd != `["run", "-c", "`+configPath+`"]` {
		p = append(p, "Dockerfile: CMD "+cmd)
	}
	// The -X names must exist in the command, or the link silently sets nothing.
	src, err := os.ReadFile("../cmd/tapdlp/version.go")
	if err != nil {
		return append(p, "Dockerfile: "+err.Error())
	}
	for _, v := range regexp.MustCompile(`-X main\.(\w+)=`).FindAllStringSubmatch(string(data), -1) {
		if !regexp.MustCompile(`(?m)^\s*` + v[1] + `\s+=`).Match(src) {
			p = append(p, "Dockerfile: -X main."+v[1]+" is not a variable of cmd/tapdlp")
		}
	}
	return p
}

func checkConfig(data []byte) []string {
	c, err := config.Parse("tapdlp.yaml", data)
	if err != nil {
		return []string{"config: " + err.Error()}
	}
	if c.StateDir != stateDir {
		return []string{"config: state_dir " + c.StateDir + ", want " + stateDir + " (what the packaging mounts)"}
	}
	// Every packaging runs `tapdlp run -c FILE` without -i: the file must
	// name the interfaces, and the probes need the metrics endpoint.
	if len(c.Capture.Interfaces) == 0 {
		return []string{"config: no capture.interfaces (run -c would exit: no interface)"}
	}
	if c.Metrics.Listen != "127.0.0.1:9740" {
		return []string{"config: metrics.listen " + c.Metrics.Listen + ", want 127.0.0.1:9740 (what the probes use)"}
	}
	return nil
}
