package spec

import _ "embed"

//go:embed schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of the stack file format,
// for editors. It describes the file's shape; Load checks more (files exist,
// host ports do not clash, names fit Docker), and where the two differ, Load
// is right and the schema is a bug.
func Schema() []byte {
	return append([]byte(nil), schema...)
}
