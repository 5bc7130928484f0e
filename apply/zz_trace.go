package apply

import (
	"fmt"
	"os"
	"time"
)

func trace(format string, a ...any) {
	if os.Getenv("STACKCTL_TRACE") != "" {
		fmt.Fprintf(os.Stderr, "TRACE %s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
	}
}
