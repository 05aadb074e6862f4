package winlaunch

import (
	"strings"
	"testing"
)

func TestAppPath(t *testing.T) {
	tests := []struct {
		p, base, want, wantErr string
	}{
		{p: `C:\x\git.exe`, base: `D:\work`, want: `C:\x\git.exe`},
		{p: `C:/x/git.exe`, base: `D:\work`, want: `C:/x/git.exe`},
		{p: `\\server\share\git.exe`, base: `D:\work`, want: `\\server\share\git.exe`},
		{p: `\\?\C:\git.exe`, base: `D:\work`, want: `\\?\C:\git.exe`},
		{p: `bin\tool.exe`, base: `D:\work`, want: `D:\work\bin\tool.exe`},
		{p: `.\tool.exe`, base: `D:\work\`, want: `D:\work\.\tool.exe`},
		{p: `..\tool.exe`, base: `D:\work`, want: `D:\work\..\tool.exe`},
		{p: `\tools\x.exe`, base: `D:\work`, want: `D:\tools\x.exe`},
		{p: `/tools/x.exe`, base: `d:\work`, want: `d:/tools/x.exe`},
		{p: `d:x.exe`, base: `D:\work`, want: `D:\work\x.exe`},
		{p: `C:x.exe`, base: `D:\work`, wantErr: "current directory of drive C:"},
		{p: `bin\x.exe`, base: `\\server\share\dir`, want: `\\server\share\dir\bin\x.exe`},
		{p: `\x.exe`, base: `\\server\share\dir`, wantErr: "has none"},
		{p: `C:x.exe`, base: `\\server\share`, wantErr: "has none"},
		{p: "", base: `C:\`, wantErr: "empty"},
	}
	for _, tt := range tests {
		got, err := appPath(tt.p, tt.base)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("appPath(%q, %q) = %q, %v; want error containing %q", tt.p, tt.base, got, err, tt.wantErr)
			}
		case err != nil || got != tt.want:
			t.Errorf("appPath(%q, %q) = %q, %v; want %q", tt.p, tt.base, got, err, tt.want)
		}
	}
}

func TestFullyQualified(t *testing.T) {
	for dir, want := range map[string]bool{
		`C:\`: true, `c:/x`: true, `\\server\share`: true, `\\?\C:\x`: true,
		`C:`: false, `C:x`: false, `\x`: false, `x`: false, "": false, `1:\x`: false,
	} {
		if got := fullyQualified(dir); got != want {
			t.Errorf("fullyQualified(%q) = %v, want %v", dir, got, want)
		}
	}
}

func TestKilledExitCode(t *testing.T) {
	if KilledExitCode != 137 {
		t.Errorf("KilledExitCode = %d, want 137 (128+SIGKILL), what the other backends report", KilledExitCode)
	}
}
