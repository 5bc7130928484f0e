package lbsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Status is what the loop writes to Config.StatusKey after every render,
// for `stackctl status` and for people reading Consul's KV.
type Status struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// ConfigSHA256 is the hash of the config nginx serves: the last one
	// that passed the check. RenderedSHA256 is the latest render's, set
	// when it differs (it was rejected).
	ConfigSHA256   string    `json:"config_sha256,omitempty"`
	RenderedSHA256 string    `json:"rendered_sha256,omitempty"`
	RenderedAt     time.Time `json:"rendered_at"`
	Instances      int       `json:"instances"` // passing instances the template saw
	LastGoodAt     time.Time `json:"last_good_at,omitzero"`
	Template       string    `json:"template,omitempty"` // where the template came from
	Reloads        int       `json:"reloads"`
	// TemplateSHA256 is the hash of the template text the latest render
	// used (see TemplateSum), so that apply can tell a render of the
	// template it wrote from an older one. Rejected says the check command
	// rejected that render's output (Error holds its message); nginx keeps
	// the config it serves.
	TemplateSHA256 string `json:"template_sha256,omitempty"`
	Rejected       bool   `json:"rejected,omitempty"`
}

// TemplateSum is the hash Status.TemplateSHA256 holds for a template text.
func TemplateSum(src string) string {
	sum := sha256.Sum256([]byte(src))
	return hex.EncodeToString(sum[:])
}

// ParseStatus decodes a status value read from Consul KV.
func ParseStatus(data []byte) (Status, error) {
	var s Status
	err := json.Unmarshal(data, &s)
	return s, err
}

// publishStatus writes st to key, reporting whether Consul took it.
func publishStatus(ctx context.Context, c Consul, key string, st Status) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.KVPut(ctx, key, data)
}
