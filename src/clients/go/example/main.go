// A small Sluice consumer in Go over gRPC: streams a destination with CanalService.Stream,
// acks each batch with the session from `subscribed`, and prints each row as a JSON line once
// its batch is acked. When the stream ends with Unavailable (failover, restart) it opens it
// again and resumes after the durable cursor.
//
// Environment: SLUICE_ADDR (host:port, default 127.0.0.1:11113), SLUICE_DESTINATION (example),
// SLUICE_CLIENT_ID (1001), SLUICE_FILTER, SLUICE_MAX_ROWS (stop after that many rows),
// SLUICE_TOKEN or SLUICE_TOKEN_FILE (a bearer token, sent with every call).
// TLS: SLUICE_CA (PEM file of the CA the server's certificate chains to; SLUICE_TLS=1 trusts
// the system's CAs instead), SLUICE_CERT and SLUICE_KEY (a client certificate, for a server
// that asks for one).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	sluicev1 "sluice/clients/go/sluice/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// token is a bearer token sent with every call ("authorization: Bearer ..."), from
// SLUICE_TOKEN or the file SLUICE_TOKEN_FILE names; "" when neither is set.
func token() string {
	if t := strings.TrimSpace(os.Getenv("SLUICE_TOKEN")); t != "" {
		return t
	}
	if f := os.Getenv("SLUICE_TOKEN_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			log.Fatalf("SLUICE_TOKEN_FILE: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	return ""
}

// bearer puts the token on every call (grpc's per-RPC credentials).
type bearer string

func (b bearer) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity: false so that the example also runs against a loopback server
// without TLS (no SLUICE_CA); over a network, set SLUICE_CA so the token travels encrypted.
func (b bearer) RequireTransportSecurity() bool { return false }

// row is one changed row: column name -> value text (nil for SQL NULL).
type row struct {
	Table  string             `json:"table"`
	Type   string             `json:"type"`
	After  map[string]*string `json:"after,omitempty"`
	Before map[string]*string `json:"before,omitempty"`
}

func image(cols []*sluicev1.Column) map[string]*string {
	if len(cols) == 0 {
		return nil
	}
	out := make(map[string]*string, len(cols))
	for _, c := range cols {
		if c.Omitted {
			continue
		}
		if c.IsNull {
			out[c.Name] = nil
		} else {
			v := c.Value
			out[c.Name] = &v
		}
	}
	return out
}

func rows(entries []*sluicev1.Entry) []row {
	var out []row
	for _, e := range entries {
		change := e.GetRowChange()
		if e.EntryType != sluicev1.EntryType_ENTRY_TYPE_ROWDATA || change == nil || change.IsDdl {
			continue
		}
		typ := change.EventType.String()[len("EVENT_TYPE_"):]
		for _, r := range change.RowDatas {
			out = append(out, row{
				Table:  e.Header.SchemaName + "." + e.Header.TableName,
				Type:   typ,
				After:  image(r.AfterColumns),
				Before: image(r.BeforeColumns),
			})
		}
	}
	return out
}

// transportCredentials: TLS when SLUICE_CA or SLUICE_TLS says so, else cleartext (h2c).
func transportCredentials() grpc.DialOption {
	ca, certFile, keyFile := os.Getenv("SLUICE_CA"), os.Getenv("SLUICE_CERT"), os.Getenv("SLUICE_KEY")
	if ca == "" && os.Getenv("SLUICE_TLS") == "" {
		return grpc.WithInsecure()
	}
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			log.Fatalf("SLUICE_CA: %v", err)
		}
		config.RootCAs = x509.NewCertPool()
		if !config.RootCAs.AppendCertsFromPEM(pem) {
			log.Fatalf("SLUICE_CA: %s holds no PEM certificate", ca)
		}
	}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			log.Fatalf("SLUICE_CERT, SLUICE_KEY: %v", err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(config))
}

func main() {
	addr := env("SLUICE_ADDR", "127.0.0.1:11113")
	destination := env("SLUICE_DESTINATION", "example")
	clientID := env("SLUICE_CLIENT_ID", "1001")
	maxRows := -1
	if v := os.Getenv("SLUICE_MAX_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			log.Fatalf("SLUICE_MAX_ROWS: %v", err)
		}
		maxRows = n
	}

	opts := []grpc.DialOption{transportCredentials()}
	if t := token(); t != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(t)))
	}
	conn, err := grpc.Dial(addr, opts...)
	if err != nil {
		log.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	canal := sluicev1.NewCanalServiceClient(conn)
	out := json.NewEncoder(os.Stdout)

	printed := 0
	// The hold's token, kept across streams: reopening with it through a gateway takes the hold
	// over (e.g. after a gateway restart) instead of meeting already_exists.
	session := ""
	for maxRows < 0 || printed < maxRows {
		n, err := consume(canal, destination, clientID, &session, out, maxRows-printed)
		printed += n
		if err == nil {
			continue
		}
		if status.Code(err) != codes.Unavailable {
			log.Fatalf("stream: %v", err)
		}
		fmt.Fprintf(os.Stderr, "stream ended (%v); opening it again\n", err)
		time.Sleep(200 * time.Millisecond)
	}
}

// consume opens one stream and acks its batches until `limit` rows are printed (no limit when
// negative) or the stream fails; it returns the rows printed.
func consume(canal sluicev1.CanalServiceClient, destination, clientID string, session *string, out *json.Encoder, limit int) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ending the stream gives unacked batches back to the server
	stream, err := canal.Stream(ctx, &sluicev1.StreamRequest{
		Destination: destination,
		ClientId:    clientID,
		Filter:      os.Getenv("SLUICE_FILTER"),
		BatchSize:   100,
		Window:      4,
		Session:     *session,
	})
	if err != nil {
		return 0, err
	}
	printed := 0
	for limit < 0 || printed < limit {
		msg, err := stream.Recv()
		if err == io.EOF {
			return printed, status.Error(codes.Unavailable, "the server ended the stream")
		}
		if err != nil {
			return printed, err
		}
		if sub := msg.GetSubscribed(); sub != nil {
			*session = sub.Session
			continue
		}
		batch := msg.GetBatch()
		if batch == nil {
			continue
		}
		ackCtx, ackCancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = canal.Ack(ackCtx, &sluicev1.AckRequest{
			Destination: destination,
			ClientId:    clientID,
			BatchId:     batch.BatchId,
			Session:     *session,
		})
		ackCancel()
		if err != nil {
			// Not acked: the batch is delivered again on the next stream.
			return printed, status.Error(codes.Unavailable, "ack failed: "+err.Error())
		}
		for _, r := range rows(batch.Entries) {
			if err := out.Encode(r); err != nil {
				log.Fatalf("stdout: %v", err)
			}
			printed++
		}
	}
	return printed, nil
}
