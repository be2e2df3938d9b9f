package emulator

import "testing"

// A 200 from the emulator is a function error when it carries the runtime's
// error object or the emulator's own timeout text (Lambda: Sandbox.Timedout);
// any other body is the function's answer, an object with an errorType
// member among others included.
func TestFunctionErrorOfAnAnswer(t *testing.T) {
	for body, want := range map[string]string{
		`{"errorMessage":"sealed","errorType":"SealedError"}`:              "SealedError",
		`Task timed out after 10.00 seconds`:                               "Sandbox.Timedout",
		`{"status":{"sealed":false}}`:                                      "",
		`{"errorType":"x","errorMessage":"y","a":1,"b":2}`:                 "",
		`{"errorMessage":"no type"}`:                                       "",
		`"Task timed out after 10.00 seconds, said the function's answer"`: "",
	} {
		got := ""
		if fe := functionError("f", []byte(body)); fe != nil {
			got = fe.Type
		}
		if got != want {
			t.Errorf("%s: error type %q, want %q", body, got, want)
		}
	}
}
