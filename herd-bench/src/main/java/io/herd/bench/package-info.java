/** Benchmarks and the cluster bench harness; figures go to BENCHMARKS.md with the command that made them. */
package io.herd.bench;
