package grpc

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/klauspost/compress/snappy"

	"github.com/tapdlp/tapdlp/appproto/http2"
	"github.com/tapdlp/tapdlp/internal/bodydec"
	"github.com/tapdlp/tapdlp/internal/tapconn"
)

const (
	testCard = "4111111111111111"
	testSSN  = "078-05-1120"
	pcapPort = 50051
)

// vault is a gRPC service registered without generated code: Store is
// unary (a Struct with the card nested two levels down → a StringValue
// with the SSN), Chat is a bidi stream of StringValues.
var vaultDesc = ggrpc.ServiceDesc{
	ServiceName: "tapdlp.test.Vault",
	HandlerType: (*any)(nil),
	Methods: []ggrpc.MethodDesc{{MethodName: "Store", Handler: func(_ any, ctx context.Context, dec func(any) error, _ ggrpc.UnaryServerInterceptor) (any, error) {
		in := &structpb.Struct{}
		if err := dec(in); err != nil {
			return nil, err
		}
		return wrapperspb.String(fmt.Sprintf("stored %d fields for ssn %s", len(in.Fields), testSSN)), nil
	}}},
	Streams: []ggrpc.StreamDesc{{StreamName: "Chat", ServerStreams: true, ClientStreams: true, Handler: func(_ any, st ggrpc.ServerStream) error {
		for {
			in := &wrapperspb.StringValue{}
			if err := st.RecvMsg(in); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := st.SendMsg(wrapperspb.String("reply to " + strconv.Itoa(len(in.Value)) + " bytes: ssn " + testSSN)); err != nil {
				return err
			}
		}
	}}},
}

// snappyCompressor is what gRPC's "snappy" is in practice: grpc-go ships
// none, and the Go (mostynb/go-grpc-compression), Java (xerial
// SnappyFramed*) and Vert.x (netty SnappyFrame*) compressors all write the
// snappy framing format, as this one does.
type snappyCompressor struct{}

func (snappyCompressor) Name() string { return "snappy" }
func (snappyCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return snappy.NewBufferedWriter(w), nil
}
func (snappyCompressor) Decompress(r io.Reader) (io.Reader, error) { return snappy.NewReader(r), nil }

func init() { encoding.RegisterCompressor(snappyCompressor{}) }

func recordGRPC(t testing.TB, compressor string) []tapconn.Chunk {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ggrpc.NewServer()
	srv.RegisterService(&vaultDesc, struct{}{})
	go srv.Serve(ln)
	defer srv.Stop()
	rec := &tapconn.Recorder{}
	opts := []ggrpc.DialOption{
		ggrpc.WithTransportCredentials(insecure.NewCredentials()),
		ggrpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return rec.Wrap(c), nil
		}),
		ggrpc.WithAuthority("vault.internal.example"),
	}
	if compressor != "" {
		opts = append(opts, ggrpc.WithDefaultCallOptions(ggrpc.UseCompressor(compressor)))
	}
	cc, err := ggrpc.NewClient("passthrough:///"+ln.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan error, 4)
	for i := range 3 {
		go func() {
			req, _ := structpb.NewStruct(map[string]any{
				"user":    map[string]any{"name": "Jane", "payment": map[string]any{"card": testCard, "n": i}},
				"comment": strings.Repeat("lorem ipsum ", 40*(i+1)),
			})
			out := &wrapperspb.StringValue{}
			done <- cc.Invoke(ctx, "/tapdlp.test.Vault/Store", req, out)
		}()
	}
	go func() {
		st, err := cc.NewStream(ctx, &vaultDesc.Streams[0], "/tapdlp.test.Vault/Chat")
		if err != nil {
			done <- err
			return
		}
		for i := range 4 {
			msg := fmt.Sprintf("chat %d card %s %s", i, testCard, strings.Repeat("x", 7000*i))
			if err := st.SendMsg(wrapperspb.String(msg)); err != nil {
				done <- err
				return
			}
			if err := st.RecvMsg(&wrapperspb.StringValue{}); err != nil {
				done <- err
				return
			}
		}
		st.CloseSend()
		done <- st.RecvMsg(&wrapperspb.StringValue{})
	}()
	for range 4 {
		if err := <-done; err != nil && err != io.EOF {
			t.Fatal(err)
		}
	}
	cc.Close()
	conns := rec.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	return conns[0]
}

// grpcRoute is an http2.Handler that sends gRPC streams' bodies to Readers
// and keeps each message's texts.
type grpcRoute struct {
	t       testing.TB
	readers map[[2]uint32]*Reader
	enc     map[[2]uint32]bodydec.Coding
	paths   map[uint32]string
	texts   [2][]string
	msgs    [2]int
	packed  int // messages with the compressed flag
	flags   Flags
}

func k(m *http2.Message) [2]uint32 { return [2]uint32{m.StreamID, uint32(m.Side)} }

func (g *grpcRoute) Start(m *http2.Message) {
	if m.Side == http2.Request {
		g.paths[m.StreamID] = string(m.Path)
	}
}

func (g *grpcRoute) Header(m *http2.Message, name, value []byte) {
	if string(name) == "grpc-encoding" {
		g.enc[k(m)] = ParseEncoding(value)
	}
}

func (g *grpcRoute) Body(m *http2.Message, data []byte) {
	if !IsGRPC(m.ContentType) {
		g.t.Errorf("stream %d %v: content-type %q", m.StreamID, m.Side, m.ContentType)
		return
	}
	r := g.readers[k(m)]
	if r == nil {
		side := m.Side
		r = NewReader(g.enc[k(m)], Config{}, handlerFunc(func(msg *Message, b []byte) {
			g.msgs[side]++
			g.flags |= msg.Flags
			if msg.Compressed {
				g.packed++
			}
			WalkText(b, 8, func(text []byte) { g.texts[side] = append(g.texts[side], string(text)) })
			if os.Getenv("TAPDLP_GEN_CORPUS") == "1" && msg.Seq == 1 {
				writeSeed(g.t, "FuzzWalkText", fmt.Sprintf("real-%d-%v", m.StreamID, side), fmt.Sprintf("[]byte(%q)\n", b))
			}
		}))
		g.readers[k(m)] = r
	}
	if os.Getenv("TAPDLP_GEN_CORPUS") == "1" && m.StreamID <= 3 {
		writeSeed(g.t, "FuzzReader", fmt.Sprintf("real-%d-%v-%d", m.StreamID, m.Side, g.enc[k(m)]), fmt.Sprintf("[]byte(%q)\nuint8(%d)\n", data[:min(len(data), 8<<10)], g.enc[k(m)]))
	}
	r.Feed(data)
}

func writeSeed(t testing.TB, target, name, values string) {
	dir := filepath.Join("testdata", "fuzz", target)
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+values), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (g *grpcRoute) End(m *http2.Message) {
	if r := g.readers[k(m)]; r != nil {
		r.End()
	}
}

func (g *grpcRoute) Stop(side http2.Side, reason http2.Reason) {
	g.t.Errorf("http2 stop %v %v", side, reason)
}

type handlerFunc func(*Message, []byte)

func (f handlerFunc) Message(m *Message, b []byte) { f(m, b) }

func TestRealGRPC(t *testing.T) {
	for _, comp := range []string{"", "gzip", "snappy"} {
		t.Run("compressor="+comp, func(t *testing.T) {
			chunks := recordGRPC(t, comp)
			pcap := filepath.Join(t.TempDir(), "grpc.pcap")
			if err := tapconn.WritePcap(pcap, [][]tapconn.Chunk{chunks}, pcapPort, 811); err != nil {
				t.Fatal(err)
			}
			if err := tapconn.Keep(pcap, "grpc-"+comp+".pcap"); err != nil {
				t.Fatal(err)
			}
			segs, _, err := tapconn.ReadPcap(pcap)
			if err != nil {
				t.Fatal(err)
			}
			g := &grpcRoute{t: t, readers: map[[2]uint32]*Reader{}, enc: map[[2]uint32]bodydec.Coding{}, paths: map[uint32]string{}}
			conn := http2.NewConn(http2.Config{}, g)
			var cli, srv []byte
			for _, s := range segs {
				side := http2.Response
				if s.FromClient {
					side = http2.Request
					cli = append(cli, s.Data...)
				} else {
					srv = append(srv, s.Data...)
				}
				conn.Feed(side, s.Data)
			}
			conn.Close()
			if conn.Streams() != 4 {
				t.Errorf("%d streams", conn.Streams())
			}
			methods := map[string]int{}
			for _, p := range g.paths {
				svc, m, ok := ParsePath([]byte(p))
				if !ok || string(svc) != "tapdlp.test.Vault" {
					t.Errorf("path %q", p)
				}
				methods[string(m)]++
			}
			if methods["Store"] != 3 || methods["Chat"] != 1 {
				t.Errorf("methods %v", methods)
			}
			if g.msgs[http2.Request] != 7 || g.msgs[http2.Response] != 7 || g.flags != 0 {
				t.Errorf("messages %v flags %x", g.msgs, g.flags)
			}
			if want := map[string]int{"": 0, "gzip": 14, "snappy": 14}[comp]; g.packed != want {
				t.Errorf("%d compressed messages, want %d", g.packed, want)
			}
			count := func(side http2.Side, v string) (n int) {
				for _, s := range g.texts[side] {
					if strings.Contains(s, v) {
						n++
					}
				}
				return n
			}
			if count(http2.Request, testCard) != 7 || count(http2.Response, testSSN) != 7 {
				t.Errorf("card in %d request texts, ssn in %d response texts", count(http2.Request, testCard), count(http2.Response, testSSN))
			}
			if count(http2.Response, testCard) != 0 || count(http2.Request, testSSN) != 0 {
				t.Error("a test value in the wrong direction")
			}
			// The Struct's nested field names are texts too: the walker went
			// down to the card through Struct → Value → Struct → Value.
			if count(http2.Request, "payment") != 3 {
				t.Errorf("nested keys: %q", g.texts[http2.Request][:min(8, len(g.texts[http2.Request]))])
			}
			if os.Getenv("TAPDLP_SLOW") == "1" {
				lines, err := tapconn.Tshark(pcap, "-d", "tcp.port=="+strconv.Itoa(pcapPort)+",http2", "-Y", "grpc",
					"-T", "fields", "-e", "grpc.message_length")
				if err != nil {
					t.Skipf("tshark: %v", err)
				}
				n := 0
				for _, l := range lines {
					n += len(strings.Split(l, ","))
				}
				if n != 14 {
					t.Errorf("tshark sees %d gRPC messages, we 14", n)
				}
			}
			if os.Getenv("TAPDLP_GEN_CORPUS") == "1" && comp == "gzip" {
				seedHTTP2(t, cli, srv)
			}
		})
	}
}

// seedHTTP2 saves a gRPC connection as a seed of http2's FuzzConn too.
func seedHTTP2(t testing.TB, cli, srv []byte) {
	dir := filepath.Join("..", "http2", "testdata", "fuzz", "FuzzConn")
	os.MkdirAll(dir, 0o755)
	cli, srv = cli[:min(len(cli), 8<<10)], srv[:min(len(srv), 8<<10)]
	os.WriteFile(filepath.Join(dir, "grpc-gzip"), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", cli, srv)), 0o644)
}
