package spec

import (
	"reflect"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Parse. Whatever the input: no panic; an
// error is *Errors whose every problem reads FILE:LINE:COL: message with a
// position inside the file; and a stack that loads hashes the same when
// loaded again. The seed corpus is testdata/fuzz/FuzzLoad (the example, the
// valid files and a choice of invalid ones); run longer with
//
//	go test ./spec -run '^$' -fuzz FuzzLoad -fuzztime 10m
func FuzzLoad(f *testing.F) {
	// Panics must reach the fuzzer, not be turned into errors.
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	dir := abs(f, "testdata/valid")
	vars := env(map[string]string{"API_TOKEN": "t0k3n", "PUBLIC_KEY": "k", "CPUS": "0.5", "TAG": "v1", "EMPTY": ""})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Parse("stack.yaml", data, vars, dir)
		if err != nil {
			if st != nil {
				t.Fatal("Parse returned both a stack and an error")
			}
			checkProblems(t, "stack.yaml", data, err)
			return
		}
		again, err := Parse("stack.yaml", data, vars, dir)
		if err != nil {
			t.Fatalf("second load failed: %v", err)
		}
		if !reflect.DeepEqual(st, again) {
			t.Fatal("two loads of the same bytes differ")
		}
		if st.ConsulHash() != again.ConsulHash() || st.LBHash() != again.LBHash() {
			t.Fatal("consul or lb hash differs between loads")
		}
		for i, svc := range st.Services {
			if st.WorkerHash(svc) != again.WorkerHash(again.Services[i]) ||
				st.RegistrationHash(svc) != again.RegistrationHash(again.Services[i]) {
				t.Fatalf("service %s hashes differently between loads", svc.Name)
			}
		}
	})
}
