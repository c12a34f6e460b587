// Command celcond evaluates KFP trigger conditions the way the KFP backend's
// driver does (backend/src/v2/expression: a cel-go environment whose context
// proto is pipelinespec.ExecutorInput, so its fields, such as
// inputs.parameter_values, are the expression's variables).
//
// The ExecutorInput message type comes from the kfp-pipeline-spec package as a
// FileDescriptorSet, because the KFP Go modules cannot be fetched here; the
// values come as ExecutorInput JSON. Input, one JSON object on stdin:
//
//	{"descriptor_set": "<base64 FileDescriptorSet>",
//	 "cases": [{"condition": "...", "executor_input": {...}}, ...]}
//
// Output, one JSON array on stdout: [{"run": true|false, "error": "..."}, ...]
// in case order. A condition that does not compile or evaluate to a bool is an
// error, as it fails the task in the driver. Used by
// tests/test_pipeline_conditions.py; not part of the product.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/cel-go/cel"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

const executorInputType = "ml_pipelines.ExecutorInput"

type request struct {
	DescriptorSet string `json:"descriptor_set"`
	Cases         []struct {
		Condition     string          `json:"condition"`
		ExecutorInput json.RawMessage `json:"executor_input"`
	} `json:"cases"`
}

type result struct {
	Run   bool   `json:"run"`
	Error string `json:"error,omitempty"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "celcond:", err)
		os.Exit(1)
	}
}

func run() error {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	desc, err := executorInputDescriptor(req.DescriptorSet)
	if err != nil {
		return err
	}
	env, err := cel.NewEnv(cel.TypeDescs(desc.ParentFile()), cel.DeclareContextProto(desc))
	if err != nil {
		return fmt.Errorf("CEL environment: %w", err)
	}
	out := make([]result, 0, len(req.Cases))
	for _, c := range req.Cases {
		msg := dynamicpb.NewMessage(desc)
		if err := protojson.Unmarshal(c.ExecutorInput, msg); err != nil {
			return fmt.Errorf("executor_input: %w", err)
		}
		out = append(out, evaluate(env, c.Condition, msg))
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// evaluate mirrors the driver's Condition: compile, bind the message's
// fields as variables, and require a bool.
func evaluate(env *cel.Env, condition string, msg proto.Message) result {
	ast, issues := env.Compile(condition)
	if issues != nil && issues.Err() != nil {
		return result{Error: issues.Err().Error()}
	}
	program, err := env.Program(ast)
	if err != nil {
		return result{Error: err.Error()}
	}
	vars, err := cel.ContextProtoVars(msg)
	if err != nil {
		return result{Error: err.Error()}
	}
	val, _, err := program.Eval(vars)
	if err != nil {
		return result{Error: "evaluation error: " + err.Error()}
	}
	b, ok := val.Value().(bool)
	if !ok {
		return result{Error: fmt.Sprintf("evaluation error: return type is not bool, got %v", val.Value())}
	}
	return result{Run: b}
}

func executorInputDescriptor(b64 string) (protoreflect.MessageDescriptor, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("descriptor_set: %w", err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("descriptor_set: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("descriptor_set: %w", err)
	}
	d, err := files.FindDescriptorByName(executorInputType)
	if err != nil {
		return nil, fmt.Errorf("descriptor_set has no %s: %w", executorInputType, err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a message", executorInputType)
	}
	return md, nil
}
