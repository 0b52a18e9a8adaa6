/**
 * The host side of jobs (a "client" in Nomad's words): admits offers against
 * this node's own view, runs guests through the executor and streams their
 * output home with end-to-end flow control.
 */
package io.herd.host;
