package ec2

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

type volume struct {
	ID          string `xml:"volumeId"`
	State       string `xml:"status"`
	AZ          string `xml:"availabilityZone"`
	Attachments []struct {
		InstanceID string `xml:"instanceId"`
		State      string `xml:"status"`
	} `xml:"attachmentSet>item"`
}

// AttachDevice is where a storage task's volume is attached (the server's
// own volumes take /dev/sdf onwards).
const AttachDevice = "/dev/sdp"

// createVolume makes an EBS volume with the step's client token, in the
// availability zone of the server it attaches to, and attaches it.
func (p *Provider) createVolume(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	var s provisioning.StorageSpec
	_ = json.Unmarshal(t.Spec, &s)
	az := p.c.Region + "a"
	server, attach := deps[s.AttachTo]
	if attach && server.Attrs["availability_zone"] != "" {
		az = server.Attrs["availability_zone"]
	}
	params := url.Values{"AvailabilityZone": {az}, "Size": {strconv.Itoa(s.SizeGB)}, "VolumeType": {VolumeType(s.Type)},
		"ClientToken": {clientToken(key)}}
	if s.Type == "nvme" {
		params.Set("Iops", "3000") // io2 needs its IOPS
	}
	tags(params, "volume", keyTags(key, t.ID, s.Tags))
	var out volume
	if err := p.c.Call(ctx, "CreateVolume", params, &out); err != nil {
		return provisioning.Resource{}, err
	}
	id := out.ID
	read := func() (string, error) { v, err := p.describeVolume(ctx, id); return v.State, err }
	if err := p.wait(ctx, "volume "+id, read, []string{"error", "deleting", "deleted"}, "available", "in-use"); err != nil {
		return provisioning.Resource{}, err
	}
	attrs := map[string]string{"volume_id": id, "availability_zone": az, "region": p.c.Region}
	if !attach {
		return resource(id, provisioning.KindStorage, attrs), nil
	}
	instanceID := server.Attrs["instance_id"]
	v, err := p.describeVolume(ctx, id)
	if err != nil {
		return provisioning.Resource{}, err
	}
	if len(v.Attachments) == 0 {
		if err := p.c.Call(ctx, "AttachVolume", url.Values{"VolumeId": {id}, "InstanceId": {instanceID}, "Device": {AttachDevice}}, nil); err != nil {
			return provisioning.Resource{}, err
		}
	}
	if err := p.wait(ctx, "volume "+id, read, []string{"error", "deleting", "deleted"}, "in-use"); err != nil {
		return provisioning.Resource{}, err
	}
	attrs["instance_id"], attrs["device"] = instanceID, AttachDevice
	return resource(id, provisioning.KindStorage, attrs), nil
}

func (p *Provider) describeVolume(ctx context.Context, id string) (volume, error) {
	params := url.Values{}
	list(params, "VolumeId", id)
	var out struct {
		Volumes []volume `xml:"volumeSet>item"`
	}
	if err := p.c.Call(ctx, "DescribeVolumes", params, &out); err != nil {
		return volume{}, err
	}
	if len(out.Volumes) == 0 {
		return volume{}, &APIError{Status: 400, Code: "InvalidVolume.NotFound", Message: "no volume " + id}
	}
	return out.Volumes[0], nil
}

// deleteVolume detaches the volume when it is attached, waits until it is
// available and deletes it.
func (p *Provider) deleteVolume(ctx context.Context, r provisioning.Resource) error {
	v, err := p.describeVolume(ctx, r.ID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(v.Attachments) > 0 && v.State == "in-use" {
		err := p.c.Call(ctx, "DetachVolume", url.Values{"VolumeId": {r.ID}}, nil)
		if err != nil && !isNotFound(err) && Code(err) != "IncorrectState" {
			return err
		}
	}
	read := func() (string, error) {
		v, err := p.describeVolume(ctx, r.ID)
		if isNotFound(err) {
			return "available", nil // gone already: DeleteVolume says so
		}
		return v.State, err
	}
	if err := p.wait(ctx, "volume "+r.ID, read, []string{"error"}, "available"); err != nil {
		return err
	}
	err = p.c.Call(ctx, "DeleteVolume", url.Values{"VolumeId": {r.ID}}, nil)
	if isNotFound(err) {
		return nil
	}
	return err
}
