package bench

import (
	"net"
	"os"
	"runtime"
	"testing"
)

func TestListeningPIDAndReadProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc: Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid, err := ListeningPID(ln.Addr().(*net.TCPAddr).Port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("ListeningPID = %d, %v; want %d", pid, err, os.Getpid())
	}
	s, err := ReadProc(pid)
	if err != nil || s.RSS <= 0 || s.CPU <= 0 {
		t.Fatalf("ReadProc = %+v, %v", s, err)
	}
}
