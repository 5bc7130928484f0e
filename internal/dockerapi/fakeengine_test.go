package dockerapi

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// fakeEngine is a real HTTP listener that answers the few Docker API calls
// these tests make, the way an engine speaking API 1.41 does. An image's
// saved form is "ID <id>\n" and padding, so that a load knows what it got.
type fakeEngine struct {
	mu     sync.Mutex
	images map[string]string // ref → ID
	// loaded is every byte a load received; loadError, when set, is the
	// error a load reports after its 200, as an engine out of disk does.
	loaded    []byte
	loadError string
	loadAs    string // when set, a load stores this ID whatever it got
	saveSize  int
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{images: map[string]string{}, saveSize: 300 << 10}
}

var apiVersion = regexp.MustCompile(`^/v[0-9.]+`)

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := apiVersion.ReplaceAllString(r.URL.Path, "")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case path == "/_ping":
		w.Header().Set("API-Version", "1.41")
		io.WriteString(w, "OK")
	case path == "/containers/json":
		io.WriteString(w, `[{"Id":"c1","Names":["/h1obs-web-1"],"State":"running","Labels":{"io.stackctl.stack":"h1obs"}}]`)
	case strings.HasPrefix(path, "/images/") && strings.HasSuffix(path, "/json"):
		ref := strings.TrimSuffix(strings.TrimPrefix(path, "/images/"), "/json")
		id, ok := f.images[ref]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"message": "No such image: " + ref})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Id": id, "RepoTags": []string{ref}})
	case path == "/images/get":
		ref := r.URL.Query().Get("names")
		id, ok := f.images[ref]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"message": "No such image: " + ref})
			return
		}
		header := "ID " + id + " " + ref + "\n"
		io.WriteString(w, header+strings.Repeat("x", f.saveSize-len(header)))
	case path == "/images/load" && r.Method == http.MethodPost:
		f.mu.Unlock() // the body may be slow to come: do not hold others up
		body, err := io.ReadAll(r.Body)
		f.mu.Lock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.loaded = append(f.loaded, body...)
		w.Header().Set("Content-Type", "application/json")
		if f.loadError != "" {
			json.NewEncoder(w).Encode(map[string]any{"errorDetail": map[string]string{"message": f.loadError}, "error": f.loadError})
			return
		}
		id, ref, ok := parseSaved(body)
		if !ok {
			json.NewEncoder(w).Encode(map[string]any{"error": "invalid tar header"})
			return
		}
		if f.loadAs != "" {
			id = f.loadAs
		}
		f.images[ref] = id
		json.NewEncoder(w).Encode(map[string]string{"stream": "Loaded image: " + ref + "\n"})
	default:
		http.NotFound(w, r)
	}
}

// parseSaved reads the "ID <id> <ref>" line a fake save starts with.
func parseSaved(body []byte) (id, ref string, ok bool) {
	line, _, _ := strings.Cut(string(body), "\n")
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != "ID" {
		return "", "", false
	}
	return fields[1], fields[2], true
}

func (f *fakeEngine) put(ref, id string) { f.mu.Lock(); f.images[ref] = id; f.mu.Unlock() }

func (f *fakeEngine) image(ref string) string { f.mu.Lock(); defer f.mu.Unlock(); return f.images[ref] }

func (f *fakeEngine) loadedBytes() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.loaded) }
