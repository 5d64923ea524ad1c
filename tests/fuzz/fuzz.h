/* fuzz.h - what every fuzz target in tests/fuzz/ defines.
 *
 * A target is one fuzz_<name>.c with LLVMFuzzerTestOneInput() (and, when it
 * needs set-up, LLVMFuzzerInitialize()). Built with clang and RUTH_FUZZ=ON
 * it links libFuzzer; in every other build it links replay_main.c, which
 * feeds it each file of its seed corpus and of the fixtures, so a crash once
 * found and saved under tests/fuzz/corpus/ stays a regression test. */
#ifndef RUTH_FUZZ_H
#define RUTH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
