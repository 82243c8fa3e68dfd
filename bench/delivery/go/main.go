// The Go consumer of bench/delivery: the generated client (grpc-go), as a user writes it.
//
// Streams with CanalService.Stream, reads every column value of every row, acks each batch
// with the session from `subscribed`, until BENCH_ROWS row changes of BENCH_TABLES have come.
// Built by bench/delivery/run.ts in GOPATH mode with Debian's grpc (as
// test/integration/other-languages.test.ts builds the example); configured by the environment
// variables of bench/delivery/consumer-env.ts; prints one result line (JSON,
// bench/delivery/check.ts's ConsumerResult), with ids merged into runs by the same rule as
// RunRecorder there.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	sluicev1 "sluice/clients/go/sluice/v1"

	"google.golang.org/grpc"
)

// The gateway relays messages of up to 64 MiB; grpc-go's default limit is 4 MB, less than a
// batch of 1000 entries of 100-row events.
const maxMessage = 64 << 20

type result struct {
	Ok         bool            `json:"ok"`
	Error      string          `json:"error,omitempty"`
	Rows       int             `json:"rows"`
	Batches    int             `json:"batches"`
	Runs       [][]interface{} `json:"runs"`
	Digest     int             `json:"digest"`
	Seconds    float64         `json:"seconds"`
	CPUSeconds float64         `json:"cpuSeconds"`
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func envInt(name string) int {
	n, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		panic(fmt.Sprintf("%s: %v", name, err))
	}
	return n
}

type run struct {
	table, kind string
	first, n    int
}

func consume() (result, error) {
	targetRows := envInt("BENCH_ROWS")
	counted := map[string]bool{}
	for _, t := range strings.Split(os.Getenv("BENCH_TABLES"), ",") {
		counted[t] = true
	}
	destination, clientID := os.Getenv("BENCH_DESTINATION"), os.Getenv("BENCH_CLIENT_ID")
	res := result{Runs: [][]interface{}{}}
	cpu0 := cpuSeconds()

	conn, err := grpc.Dial(os.Getenv("BENCH_URL"), grpc.WithInsecure(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)))
	if err != nil {
		return res, err
	}
	defer conn.Close()
	canal := sluicev1.NewCanalServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(envInt("BENCH_TIMEOUT_MS"))*time.Millisecond)
	defer cancel()
	stream, err := canal.Stream(ctx, &sluicev1.StreamRequest{
		Destination: destination,
		ClientId:    clientID,
		BatchSize:   int32(envInt("BENCH_BATCH_SIZE")),
		Window:      int32(envInt("BENCH_WINDOW")),
	})
	if err != nil {
		return res, err
	}
	var runs []*run
	var last *run
	session := ""
	var first, end time.Time
	for res.Rows < targetRows {
		msg, err := stream.Recv()
		if err != nil {
			return res, fmt.Errorf("after %d rows: %w", res.Rows, err)
		}
		if sub := msg.GetSubscribed(); sub != nil {
			session = sub.Session
			continue
		}
		batch := msg.GetBatch()
		if batch == nil {
			continue
		}
		if first.IsZero() {
			first = time.Now()
		}
		res.Batches++
		for _, e := range batch.Entries {
			change := e.GetRowChange()
			if e.EntryType != sluicev1.EntryType_ENTRY_TYPE_ROWDATA || change == nil {
				continue
			}
			table := e.GetHeader().GetTableName()
			kind := strings.TrimPrefix(change.EventType.String(), "EVENT_TYPE_")[:1]
			for _, r := range change.RowDatas {
				id, d := -1, 0
				for _, cols := range [][]*sluicev1.Column{r.BeforeColumns, r.AfterColumns} {
					for _, c := range cols {
						if c.Omitted {
							continue
						}
						// Characters, as the other consumers count (the dataset has none beyond
						// the BMP, where code points and UTF-16 units agree).
						d += utf8.RuneCountInString(c.Value)
						if c.Name == "id" {
							if id, err = strconv.Atoi(c.Value); err != nil {
								return res, fmt.Errorf("id %q: %w", c.Value, err)
							}
						}
					}
				}
				if !counted[table] || res.Rows >= targetRows {
					continue
				}
				res.Digest += d
				res.Rows++
				if last != nil && last.table == table && last.kind == kind && id == last.first+last.n {
					last.n++
				} else {
					last = &run{table, kind, id, 1}
					runs = append(runs, last)
				}
			}
		}
		ackCtx, ackCancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = canal.Ack(ackCtx, &sluicev1.AckRequest{
			Destination: destination,
			ClientId:    clientID,
			BatchId:     batch.BatchId,
			Session:     session,
		})
		ackCancel()
		if err != nil {
			return res, fmt.Errorf("ack: %w", err)
		}
		end = time.Now()
	}
	for _, r := range runs {
		res.Runs = append(res.Runs, []interface{}{r.table, r.kind, r.first, r.n})
	}
	res.Ok = true
	res.Seconds = end.Sub(first).Seconds()
	res.CPUSeconds = cpuSeconds() - cpu0
	return res, nil
}

func main() {
	res, err := consume()
	if err != nil {
		res = result{Error: err.Error(), Runs: [][]interface{}{}}
	}
	out, _ := json.Marshal(res)
	fmt.Printf("\n%s\n", out)
	if !res.Ok {
		os.Exit(1)
	}
}
