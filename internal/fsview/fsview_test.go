package fsview

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const snap = `[
 {"path":"C:\\Users\\me\\ws\\.git","type":"file","sddl":"D:(A;;FA;;;SY)","owner":"S-1-5-21-1-2-3-1001"},
 {"path":"C:\\","type":"directory","sddl":"O:SYD:PAI(A;OICI;FA;;;SY)"},
 {"path":"c:/users","type":"directory","sddl":"O:SYD:(A;OICI;FA;;;SY)"},
 {"path":"C:\\Users\\me","type":"directory","sddl":"O:SYD:(A;OICI;FA;;;SY)"},
 {"path":"C:\\Users\\me\\ws","type":"directory","sddl":"O:SYD:(A;OICI;FA;;;SY)"},
 {"path":"C:\\Users\\me\\ws\\link","type":"junction","sddl":"O:SYD:","target":"C:\\Windows"}
]`

func TestSnapshotRoundTrip(t *testing.T) {
	m, err := LoadSnapshot(strings.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 6 {
		t.Fatalf("%d nodes", m.Len())
	}
	n, err := m.Stat(`C:\USERS\ME\WS\.GIT`)
	if err != nil || !n.IsGitfile() || n.SD.Owner.String() != "S-1-5-21-1-2-3-1001" {
		t.Errorf("gitfile: %+v %v", n, err)
	}
	j, _ := m.Stat(`C:\Users\me\ws\link`)
	if !j.IsReparse() || j.IsDir() || j.Target != `C:\Windows` {
		t.Errorf("junction: %+v", j)
	}
	names, err := m.List(`C:\Users\me\ws`)
	if err != nil || !reflect.DeepEqual(names, []string{".git", "link"}) {
		t.Errorf("List = %v %v", names, err)
	}
	if _, err := m.Stat(`C:\nope`); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if m.Reads() != 4 {
		t.Errorf("reads = %d", m.Reads())
	}
	var sb strings.Builder
	if err := m.WriteSnapshot(&sb); err != nil {
		t.Fatal(err)
	}
	again, err := LoadSnapshot(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatalf("reload: %v\n%s", err, sb.String())
	}
	var sb2 strings.Builder
	again.WriteSnapshot(&sb2)
	if sb.String() != sb2.String() {
		t.Errorf("snapshot round trip differs:\n%s\n%s", sb.String(), sb2.String())
	}
	c := m.Clone()
	if err := c.Remove(`C:\Users\me\ws\link`); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stat(`C:\Users\me\ws\link`); err != nil {
		t.Error("Remove on a clone changed the original")
	}
	if err := c.Remove(`C:\Users`); err == nil {
		t.Error("removed a non-empty directory")
	}
}

func TestSnapshotErrors(t *testing.T) {
	cases := map[string]string{
		`{}`: "cannot unmarshal object",
		`[{"path":"C:\\","type":"directory","sddl":"O:SYD:","colour":1}]`:                                         `unknown field "colour"`,
		`[{"type":"directory","sddl":"O:SYD:"}]`:                                                                  `entry 0: field "path" is required`,
		`[{"path":"x\\y","type":"directory","sddl":"O:SYD:"}]`:                                                    `entry 0 ("x\\y"): field "path"`,
		`[{"path":"C:\\","sddl":"O:SYD:"}]`:                                                                       `field "type" is required`,
		`[{"path":"C:\\","type":"pipe","sddl":"O:SYD:"}]`:                                                         `unknown type "pipe"`,
		`[{"path":"C:\\","type":"directory"}]`:                                                                    `field "sddl" is required`,
		`[{"path":"C:\\","type":"directory","sddl":"D:(A;;FA;;;SY"}]`:                                             `field "sddl": SDDL D: unterminated ACE`,
		`[{"path":"C:\\","type":"directory","sddl":"D:"}]`:                                                        `no owner`,
		`[{"path":"C:\\","type":"directory","sddl":"D:","owner":"bad"}]`:                                          `field "owner"`,
		`[{"path":"C:\\x","type":"directory","sddl":"O:SYD:"}]`:                                                   `parent C:\ is not present`,
		`[{"path":"C:\\","type":"file","sddl":"O:SYD:"}]`:                                                         `volume root must be a directory`,
		`[{"path":"C:\\","type":"directory","sddl":"O:SYD:"},{"path":"c:\\","type":"directory","sddl":"O:SYD:"}]`: "already present",
		`[{"path":"C:\\","type":"directory","sddl":"O:SYD:"},{"path":"C:\\f","type":"file","sddl":"O:SYD:"},{"path":"C:\\f\\g","type":"file","sddl":"O:SYD:"}]`: "is a file, not a directory",
		`[{"path":"C:\\","type":"directory","sddl":"O:SYD:"},{"path":"C:\\l","type":"junction","sddl":"O:SYD:"}]`:                                               `field "target"`,
		`[{"path":"C:\\","type":"directory","sddl":"O:SYD:"},{"path":"C:\\f:s","type":"file","sddl":"O:SYD:"}]`:                                                 "not a file or directory path",
		`[] []`: "trailing data",
	}
	for in, want := range cases {
		_, err := LoadSnapshot(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadSnapshot(%s) = %v, want %q", in, err, want)
		}
	}
}
