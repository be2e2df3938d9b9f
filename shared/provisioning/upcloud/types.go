package upcloud

// The API's documents: UpCloud wraps lists as {"label":[…]}, {"server":[…]}…

type label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type labels struct {
	Label []label `json:"label"`
}

type ipAddress struct {
	Access  string `json:"access,omitempty"`
	Address string `json:"address,omitempty"`
	Family  string `json:"family"`
}

type ipAddresses struct {
	IPAddress []ipAddress `json:"ip_address"`
}

type iface struct {
	Type        string      `json:"type"`
	Network     string      `json:"network,omitempty"`
	IPAddresses ipAddresses `json:"ip_addresses"`
}

type storageDevice struct {
	Action  string `json:"action,omitempty"`
	Storage string `json:"storage,omitempty"`
	Title   string `json:"title,omitempty"`
	Size    int    `json:"size,omitempty"`
	Tier    string `json:"tier,omitempty"`
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"`
}

// Server is a server document (what this provider sends and reads).
type Server struct {
	UUID           string  `json:"uuid,omitempty"`
	State          string  `json:"state,omitempty"`
	Zone           string  `json:"zone"`
	Title          string  `json:"title"`
	Hostname       string  `json:"hostname"`
	Plan           string  `json:"plan"`
	Metadata       string  `json:"metadata,omitempty"`
	Labels         *labels `json:"labels,omitempty"`
	StorageDevices struct {
		StorageDevice []storageDevice `json:"storage_device"`
	} `json:"storage_devices"`
	Networking *struct {
		Interfaces struct {
			Interface []iface `json:"interface"`
		} `json:"interfaces"`
	} `json:"networking,omitempty"`
	IPAddresses *ipAddresses `json:"ip_addresses,omitempty"`
}

// Storage is a storage document.
type Storage struct {
	UUID   string  `json:"uuid,omitempty"`
	State  string  `json:"state,omitempty"`
	Title  string  `json:"title"`
	Size   int     `json:"size"`
	Tier   string  `json:"tier,omitempty"`
	Zone   string  `json:"zone"`
	Type   string  `json:"type,omitempty"`
	Access string  `json:"access,omitempty"`
	Labels *labels `json:"labels,omitempty"`
}

// Network is a network document.
type Network struct {
	UUID       string `json:"uuid,omitempty"`
	Name       string `json:"name"`
	Zone       string `json:"zone"`
	Type       string `json:"type,omitempty"`
	IPNetworks struct {
		IPNetwork []struct {
			Address string `json:"address"`
			DHCP    string `json:"dhcp"`
			Family  string `json:"family"`
		} `json:"ip_network"`
	} `json:"ip_networks"`
	Labels *labels `json:"labels,omitempty"`
}

func toLabels(m map[string]string) *labels {
	l := &labels{Label: []label{}}
	for k, v := range m {
		l.Label = append(l.Label, label{k, v})
	}
	return l
}
