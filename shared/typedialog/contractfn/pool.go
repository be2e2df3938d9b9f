package contractfn

import (
	"crypto/sha256"

	"github.com/stratumiops/stratumiops/shared/platform/cuecontract"
)

// maxIdle bounds the idle compiled copies kept of one contract.
const maxIdle = 8

// contract takes a compiled copy of the contract (name, src) that no other
// check is using: an idle one, else a new one. release gives it back.
func (c *Checker) contract(name, src string) (*cuecontract.Contract, func(), error) {
	key := sha256.Sum256([]byte(name + "\x00" + src))
	c.mu.Lock()
	idle, ok := c.compiled[key]
	if !ok {
		if len(c.compiled) >= maxCached {
			clear(c.compiled)
		}
		idle = make(chan *cuecontract.Contract, maxIdle)
		c.compiled[key] = idle
	}
	c.mu.Unlock()
	var contract *cuecontract.Contract
	select {
	case contract = <-idle:
	default:
		var err error
		if contract, err = cuecontract.Compile(name, []byte(src)); err != nil {
			return nil, nil, err
		}
	}
	return contract, func() {
		select {
		case idle <- contract:
		default: // enough idle copies
		}
	}, nil
}
