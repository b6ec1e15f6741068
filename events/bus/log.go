package bus

import "go.uber.org/zap"

func zapStream(s string) zap.Field   { return zap.String("stream", s) }
func zapConsumer(c string) zap.Field { return zap.String("consumer", c) }
