package apply

// InjectFailureAfter makes the Nth step of e's run to finish (1-based) fail
// after doing its work, as if its last action had failed (ErrInjected):
// for the end-to-end tests, which are outside the package.
func InjectFailureAfter(e *Executor, n int) *Executor {
	e.faults.failAfter = n
	return e
}
