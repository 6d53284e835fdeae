package sensor

import (
	"context"

	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"github.com/tapdlp/tapdlp/pipeline"
)

// followKeyLogs starts a follower for each configured key log file
// (tls.keylog_files) feeding the pipeline's key store until ctx ends. A
// file that does not exist yet is polled until it appears (counted, not
// fatal); nothing of a file's content is ever logged.
func (s *Sensor) followKeyLogs(ctx context.Context, p *pipeline.Pipeline) {
	for _, f := range s.cfg.TLS.KeylogFiles {
		fl := tlsdecrypt.NewFollower(f, p.Keys(), tlsdecrypt.FollowConfig{})
		s.log.Info("following tls key log", "file", f)
		go func() { _ = fl.Run(ctx) }()
	}
}
