// A stand-in for haltfw-final in the namespace tests of arm: a static
// executable that does nothing. arm only checks that the final stage is
// static and installs it; the tests run it once to prove the exitrd
// allows exec.
int main() { return 0; }
