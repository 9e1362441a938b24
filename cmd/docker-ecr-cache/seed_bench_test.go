package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
)

// BenchmarkSeedECRHit times the original bash plugin's ECR hit against the
// same ECR test server and daemon as BenchmarkECRHit: the AWS CLI calls it
// made on every run (the account from STS, a login token handed to docker
// login, the repository ensured, its tags and its lifecycle policy put),
// then docker pull of the key tag, already on the daemon. Needs the aws
// CLI (apt-get install awscli); bench/ecr-hit.sh runs both.
func BenchmarkSeedECRHit(b *testing.B) {
	if _, err := exec.LookPath("aws"); err != nil {
		b.Skip("no aws CLI: apt-get install awscli")
	}
	srv := ecrtest.Start(b, ecrtest.Options{})
	job := newECRJob(b, srv)
	r := job.run(b)
	r.expect(b, srv, 0)
	ref := r.Outputs["IMAGE_REF"]
	env := append(append([]string(nil), job.aws...), "DOCKER_CONFIG="+b.TempDir(), "AWS_DEFAULT_REGION=us-east-1")
	run := func(stdin string, name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}
	policy := `{"rules":[{"rulePriority":1,"description":"Expire images older than 30 days","selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30},"action":{"type":"expire"}}]}`
	b.ResetTimer()
	for range b.N {
		run("", "aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text")
		password := run("", "aws", "ecr", "get-login-password")
		run(password, "docker", "login", "--username", "AWS", "--password-stdin", srv.RegistryHost)
		arn := strings.TrimSpace(run("", "aws", "ecr", "describe-repositories", "--repository-names", job.name, "--query", "repositories[0].repositoryArn", "--output", "text"))
		run("", "aws", "ecr", "tag-resource", "--resource-arn", arn, "--tags", "Key=Team,Value=build")
		run("", "aws", "ecr", "put-lifecycle-policy", "--repository-name", job.name, "--lifecycle-policy-text", policy)
		run("", "docker", "pull", ref)
	}
}
