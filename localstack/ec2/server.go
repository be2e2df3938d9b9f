// Package ec2 is a local server speaking the EC2 Query API for the calls
// Provisioning's aws provider makes: form-encoded actions (POST body or
// query string) signed with SigV4, XML answers in EC2's namespace with a
// requestId, and EC2's error document <Response><Errors><Error><Code>…
// with its HTTP statuses. Resources move through EC2's states one read at a
// time (pending → running, creating → available…), so a client must wait
// as it must on AWS. Tests and the devstack (when no real endpoint is set)
// use it; Calls, Fail and State are its inspection side, also served as
// JSON under /_stratum/.
package ec2

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Namespace is the XML namespace of EC2's answers.
const Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// Call is one request the server answered.
type Call struct {
	Action string     `json:"action"`
	Params url.Values `json:"params"`
	// Error is the error code answered, "" for success.
	Error string `json:"error,omitempty"`
	// AccessKey is the access key id the request was signed with.
	AccessKey string `json:"access_key,omitempty"`
}

// Server is the local EC2. Its zero value is not usable: call New.
type Server struct {
	Region string

	mu        sync.Mutex
	calls     []Call
	faults    map[string][]string
	instances map[string]*instance
	vpcs      map[string]*vpc
	subnets   map[string]*subnet
	volumes   map[string]*volume
	groups    map[string]*securityGroup
	tokens    map[string]token  // client token → what it made
	keys      map[string]string // access key id → secret (AddKey)
}

type token struct{ id, fingerprint string }

// New returns an empty region.
func New(region string) *Server {
	return &Server{Region: region, faults: map[string][]string{}, instances: map[string]*instance{},
		vpcs: map[string]*vpc{}, subnets: map[string]*subnet{}, volumes: map[string]*volume{}, groups: map[string]*securityGroup{}, tokens: map[string]token{}, keys: map[string]string{}}
}

// apiError is an error answer.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badParam(format string, args ...any) *apiError {
	return fail(400, "InvalidParameterValue", format, args...)
}

// statusOf is the HTTP status EC2 answers a scripted code with.
func statusOf(code string) int {
	switch code {
	case "RequestLimitExceeded", "Unavailable":
		return 503
	case "InsufficientInstanceCapacity", "InsufficientVolumeCapacity", "InternalError":
		return 500
	case "AuthFailure", "UnauthorizedOperation":
		return 403
	}
	return 400
}

type handler func(s *Server, p url.Values) (any, *apiError)

var actions = map[string]handler{
	"RunInstances": (*Server).runInstances, "DescribeInstances": (*Server).describeInstances,
	"TerminateInstances": (*Server).terminateInstances, "DescribeImages": (*Server).describeImages,
	"CreateVpc": (*Server).createVpc, "DescribeVpcs": (*Server).describeVpcs, "DeleteVpc": (*Server).deleteVpc,
	"CreateSubnet": (*Server).createSubnet, "DescribeSubnets": (*Server).describeSubnets, "DeleteSubnet": (*Server).deleteSubnet,
	"CreateVolume": (*Server).createVolume, "DescribeVolumes": (*Server).describeVolumes,
	"CreateSecurityGroup": (*Server).createSecurityGroup, "AuthorizeSecurityGroupIngress": (*Server).authorizeSecurityGroupIngress,
	"AuthorizeSecurityGroupEgress": (*Server).authorizeSecurityGroupEgress, "RevokeSecurityGroupEgress": (*Server).revokeSecurityGroupEgress,
	"DescribeSecurityGroups": (*Server).describeSecurityGroups, "DeleteSecurityGroup": (*Server).deleteSecurityGroup,
	"AttachVolume": (*Server).attachVolume, "DetachVolume": (*Server).detachVolume, "DeleteVolume": (*Server).deleteVolume,
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_stratum/") {
		s.inspect(w, r)
		return
	}
	reqID := requestID()
	body, err := readBody(r)
	if err == nil {
		err = r.ParseForm()
	}
	if err != nil {
		writeError(w, reqID, badParam("unreadable request: %v", err))
		return
	}
	p := r.Form
	action := p.Get("Action")
	s.mu.Lock()
	defer s.mu.Unlock()
	out, aerr := s.answer(r, body, action, p)
	call := Call{Action: action, Params: url.Values{}, AccessKey: accessKey(r.Header.Get("Authorization"))}
	for k, v := range p {
		if k != "Action" && k != "Version" {
			call.Params[k] = v
		}
	}
	if aerr != nil {
		call.Error = aerr.code
		s.calls = append(s.calls, call)
		writeError(w, reqID, aerr)
		return
	}
	s.calls = append(s.calls, call)
	writeXML(w, action+"Response", reqID, out)
}

func (s *Server) answer(r *http.Request, body []byte, action string, p url.Values) (any, *apiError) {
	if aerr := s.verify(r, body); aerr != nil {
		return nil, aerr
	}
	h, ok := actions[action]
	if !ok {
		return nil, fail(400, "InvalidAction", "The action %s is not valid for this web service.", action)
	}
	if v := p.Get("Version"); v != "2016-11-15" {
		return nil, fail(400, "InvalidParameterValue", "Invalid API version %q", v)
	}
	if codes := s.faults[action]; len(codes) > 0 {
		s.faults[action] = codes[1:]
		return nil, fail(statusOf(codes[0]), codes[0], "scripted failure of %s", action)
	}
	return h(s, p)
}

// accessKey is the key id of a SigV4 Authorization header
// (Credential=<key>/<date>/<region>/ec2/aws4_request).
func accessKey(auth string) string {
	_, cred, _ := strings.Cut(auth, "Credential=")
	key, _, _ := strings.Cut(cred, "/")
	return key
}

func writeXML(w http.ResponseWriter, root, reqID string, body any) {
	inner, err := xml.Marshal(struct {
		XMLName xml.Name `xml:"r"`
		Body    any      `xml:"b"`
	}{Body: body})
	if err != nil {
		writeError(w, reqID, fail(500, "InternalError", "%v", err))
		return
	}
	// body's fields go right under the action's element.
	inner = bytes.TrimSuffix(bytes.TrimPrefix(inner, []byte("<r><b>")), []byte("</b></r>"))
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	fmt.Fprintf(w, "%s<%s xmlns=%q>\n    <requestId>%s</requestId>\n    %s\n</%s>", xml.Header, root, Namespace, reqID, inner, root)
}

func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	type errDoc struct {
		XMLName xml.Name `xml:"Response"`
		Errors  []struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Errors>Error"`
		RequestID string `xml:"RequestID"`
	}
	d := errDoc{RequestID: reqID}
	d.Errors = append(d.Errors, struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}{e.code, e.message})
	out, _ := xml.Marshal(d)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newID(prefix string) string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)[:17]
}

// Calls returns the requests answered so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Actions returns the actions of the calls answered so far, in order.
func (s *Server) Actions() []string {
	var out []string
	for _, c := range s.Calls() {
		out = append(out, c.Action)
	}
	return out
}

// Fail makes the next calls of action answer these error codes, one each.
func (s *Server) Fail(action string, codes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], codes...)
}

// inspect serves GET /_stratum/calls, GET /_stratum/state, POST
// /_stratum/fail {"action":…,"codes":[…]} and POST /_stratum/keys
// {"access_key_id":…,"secret_access_key":…} (AddKey) for tests that reach the server
// over HTTP (the e2e suite through the devstack).
func (s *Server) inspect(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_stratum/calls":
		_ = json.NewEncoder(w).Encode(s.Calls())
	case r.Method == http.MethodGet && r.URL.Path == "/_stratum/state":
		_ = json.NewEncoder(w).Encode(s.State())
	case r.Method == http.MethodPost && r.URL.Path == "/_stratum/fail":
		var in struct {
			Action string   `json:"action"`
			Codes  []string `json:"codes"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || actions[in.Action] == nil {
			http.Error(w, `{"error":"want {\"action\":<an EC2 action>,\"codes\":[…]}"}`, http.StatusBadRequest)
			return
		}
		s.Fail(in.Action, in.Codes...)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && r.URL.Path == "/_stratum/keys":
		var in struct {
			AccessKeyID     string `json:"access_key_id"`
			SecretAccessKey string `json:"secret_access_key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.AccessKeyID == "" || in.SecretAccessKey == "" {
			http.Error(w, `{"error":"want {\"access_key_id\":…,\"secret_access_key\":…}"}`, http.StatusBadRequest)
			return
		}
		s.AddKey(in.AccessKeyID, in.SecretAccessKey)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}

// State is what the region holds: each resource's id and state.
type State struct {
	Instances map[string]string `json:"instances"`
	VPCs      map[string]string `json:"vpcs"`
	Subnets   map[string]string `json:"subnets"`
	Volumes   map[string]string `json:"volumes"`
	// SecurityGroups are each group's ingress rules, as EC2 words them;
	// SecurityGroupsEgress its egress rules.
	SecurityGroups       map[string][]string `json:"security_groups"`
	SecurityGroupsEgress map[string][]string `json:"security_groups_egress"`
	// InstanceGroups are the security groups of each instance.
	InstanceGroups map[string][]string `json:"instance_groups"`
}

// State returns each resource's state.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Instances: map[string]string{}, VPCs: map[string]string{}, Subnets: map[string]string{}, Volumes: map[string]string{},
		SecurityGroups: map[string][]string{}, SecurityGroupsEgress: map[string][]string{}, InstanceGroups: map[string][]string{}}
	for id, g := range s.groups {
		st.SecurityGroups[id], st.SecurityGroupsEgress[id] = []string{}, []string{}
		for _, perm := range g.ingress {
			st.SecurityGroups[id] = append(st.SecurityGroups[id], perm.String())
		}
		for _, perm := range g.egress {
			st.SecurityGroupsEgress[id] = append(st.SecurityGroupsEgress[id], perm.String())
		}
	}
	for id, i := range s.instances {
		st.Instances[id] = i.state
		st.InstanceGroups[id] = slices.Clone(i.groups)
	}
	for id, v := range s.vpcs {
		st.VPCs[id] = v.state
	}
	for id := range s.subnets {
		st.Subnets[id] = "available"
	}
	for id, v := range s.volumes {
		st.Volumes[id] = v.state
	}
	return st
}
