package wine

import (
	"sync"

	"golang.org/x/sys/windows"
)

// detected looks for wine_get_version, which Wine's ntdll.dll exports and
// Microsoft's never has. The answer cannot change during a process's life.
var detected = sync.OnceValue(func() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
})
