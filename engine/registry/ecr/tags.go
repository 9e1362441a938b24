package ecr

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// ensureTags adds or corrects ecr-tags on an existing repository, calling
// TagResource only when ListTagsForResource shows a difference. Tags the
// repository has beyond ecr-tags are left alone. Failures warn.
func (r *Registry) ensureTags(ctx context.Context, arn string) {
	if len(r.s.tags) == 0 {
		return
	}
	out, err := r.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		r.log.Warnf("reading the tags of repository %s, so they are not updated: %v", r.s.name, explain("ecr:ListTagsForResource", err))
		return
	}
	have := map[string]string{}
	for _, t := range out.Tags {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	missing := map[string]string{}
	for k, v := range r.s.tags {
		if got, ok := have[k]; !ok || got != v {
			missing[k] = v
		}
	}
	if len(missing) == 0 {
		return
	}
	_, err = r.ecr.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(arn), Tags: ecrTags(missing)})
	if err != nil {
		r.log.Warnf("tagging repository %s: %v", r.s.name, explain("ecr:TagResource", err))
		return
	}
	r.log.Infof("tagged repository %s%s", r.s.name, describeTags(missing))
}

// ecrTags converts ecr-tags, keeping each key's case, in a stable order.
func ecrTags(tags map[string]string) []types.Tag {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
