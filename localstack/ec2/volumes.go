package ec2

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

type volume struct {
	id, vtype, az, state, token, instance, device, attachment string
	size, iops                                                int
	deleteOnTermination                                       bool
	tags                                                      []tag
}

type volumeXML struct {
	ID          string `xml:"volumeId"`
	Size        int    `xml:"size"`
	AZ          string `xml:"availabilityZone"`
	Status      string `xml:"status"`
	Type        string `xml:"volumeType"`
	Iops        int    `xml:"iops,omitempty"`
	Attachments []struct {
		VolumeID   string `xml:"volumeId"`
		InstanceID string `xml:"instanceId"`
		Device     string `xml:"device"`
		Status     string `xml:"status"`
	} `xml:"attachmentSet>item"`
	Tags []tag `xml:"tagSet>item"`
}

func (v *volume) xml() volumeXML {
	out := volumeXML{ID: v.id, Size: v.size, AZ: v.az, Status: v.state, Type: v.vtype, Iops: v.iops, Tags: v.tags}
	if v.instance != "" {
		out.Attachments = append(out.Attachments, struct {
			VolumeID   string `xml:"volumeId"`
			InstanceID string `xml:"instanceId"`
			Device     string `xml:"device"`
			Status     string `xml:"status"`
		}{v.id, v.instance, v.device, v.attachment})
	}
	return out
}

// volumeSizes are the sizes EBS allows per type, in GiB.
var volumeSizes = map[string][2]int{"gp3": {1, 16384}, "gp2": {1, 16384}, "io2": {4, 65536}, "st1": {125, 16384}, "sc1": {125, 16384}}

func (s *Server) createVolume(p url.Values) (any, *apiError) {
	az, vtype, tok := p.Get("AvailabilityZone"), p.Get("VolumeType"), p.Get("ClientToken")
	if vtype == "" {
		vtype = "gp2"
	}
	size, err := strconv.Atoi(p.Get("Size"))
	limits, known := volumeSizes[vtype]
	switch {
	case az == "":
		return nil, fail(400, "MissingParameter", "The request must contain the parameter AvailabilityZone")
	case !strings.HasPrefix(az, s.Region):
		return nil, badParam("Invalid availability zone: [%s]", az)
	case !known:
		return nil, badParam("Value (%s) for parameter volumeType is invalid.", vtype)
	case err != nil || size < limits[0] || size > limits[1]:
		return nil, badParam("Volume of %s GiB is out of range for %s: %d–%d GiB", p.Get("Size"), vtype, limits[0], limits[1])
	case vtype == "io2" && p.Get("Iops") == "":
		return nil, fail(400, "MissingParameter", "The request must contain the parameter iops")
	}
	if t, ok := s.tokens[tok]; ok && tok != "" {
		if t.fingerprint != p.Encode() {
			return nil, fail(400, "IdempotentParameterMismatch", "The client token %s was used with different parameters", tok)
		}
		return s.volumes[t.id].xml(), nil
	}
	tags, aerr := tagsOf(p, "volume")
	if aerr != nil {
		return nil, aerr
	}
	iops, _ := strconv.Atoi(p.Get("Iops"))
	v := &volume{id: newID("vol"), vtype: vtype, az: az, state: "creating", token: tok, size: size, iops: iops, tags: tags}
	s.volumes[v.id] = v
	if tok != "" {
		s.tokens[tok] = token{v.id, p.Encode()}
	}
	return v.xml(), nil
}

func (s *Server) describeVolumes(p url.Values) (any, *apiError) {
	var out struct {
		Volumes []volumeXML `xml:"volumeSet>item"`
	}
	ids, filters := indexed(p, "VolumeId"), filtersOf(p)
	for _, id := range ids {
		if v := s.volumes[id]; v == nil || v.state == "deleted" {
			return nil, fail(400, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		}
	}
	for _, id := range sortedKeys(s.volumes) {
		v := s.volumes[id]
		if v.state == "deleted" || (len(ids) > 0 && !slices.Contains(ids, id)) ||
			!matches(filters, tagMap(v.tags, map[string]string{"volume-id": id, "status": v.state})) {
			continue
		}
		out.Volumes = append(out.Volumes, v.xml())
		advance(&v.state, "creating", "available")
		if v.attachment == "attaching" {
			v.attachment, v.state = "attached", "in-use"
		} else if v.attachment == "detaching" {
			v.attachment, v.instance, v.device, v.state = "", "", "", "available"
		}
	}
	return out, nil
}

func (s *Server) attachVolume(p url.Values) (any, *apiError) {
	v, in := s.volumes[p.Get("VolumeId")], s.instances[p.Get("InstanceId")]
	switch {
	case v == nil || v.state == "deleted":
		return nil, fail(400, "InvalidVolume.NotFound", "The volume '%s' does not exist.", p.Get("VolumeId"))
	case in == nil:
		return nil, fail(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", p.Get("InstanceId"))
	case p.Get("Device") == "":
		return nil, fail(400, "MissingParameter", "The request must contain the parameter device")
	case v.state != "available":
		return nil, fail(400, "IncorrectState", "vol '%s' is not 'available'.", v.id)
	case in.state != "running" && in.state != "stopped":
		return nil, fail(400, "IncorrectInstanceState", "Instance '%s' is not 'running'.", in.id)
	case v.az != in.az:
		return nil, fail(400, "InvalidVolume.ZoneMismatch", "The volume '%s' is not in the same availability zone as instance '%s'", v.id, in.id)
	}
	v.instance, v.device, v.attachment = in.id, p.Get("Device"), "attaching"
	return attachmentXML(v), nil
}

func attachmentXML(v *volume) any {
	return struct {
		VolumeID   string `xml:"volumeId"`
		InstanceID string `xml:"instanceId"`
		Device     string `xml:"device"`
		Status     string `xml:"status"`
	}{v.id, v.instance, v.device, v.attachment}
}

func (s *Server) detachVolume(p url.Values) (any, *apiError) {
	v := s.volumes[p.Get("VolumeId")]
	switch {
	case v == nil || v.state == "deleted":
		return nil, fail(400, "InvalidVolume.NotFound", "The volume '%s' does not exist.", p.Get("VolumeId"))
	case v.instance == "" || v.attachment != "attached":
		return nil, fail(400, "IncorrectState", "Volume '%s' is in the 'available' state.", v.id)
	}
	v.attachment = "detaching"
	return attachmentXML(v), nil
}

func (s *Server) deleteVolume(p url.Values) (any, *apiError) {
	v := s.volumes[p.Get("VolumeId")]
	switch {
	case v == nil || v.state == "deleted":
		return nil, fail(400, "InvalidVolume.NotFound", "The volume '%s' does not exist.", p.Get("VolumeId"))
	case v.state != "available":
		return nil, fail(400, "VolumeInUse", "Volume %s is currently attached to %s", v.id, v.instance)
	}
	v.state = "deleted"
	return struct {
		Return bool `xml:"return"`
	}{true}, nil
}
