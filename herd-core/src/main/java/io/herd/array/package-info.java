/**
 * Job arrays ({@code herd run|submit --each SPEC -- CMD … {}}): one command run once per item.
 *
 * <p>Vocabulary. An <em>array</em> is one submission of many jobs that share a <em>template</em>
 * (the command as typed). Its <em>items</em> come from the SPEC ({@link EachSpec}): a range
 * {@code 1..4000}, a file {@code @FILE} (one item a line) or a list {@code a,b,c}. Each job is
 * the template with {@code {}} replaced by its item and {@code {#}} by its 1-based number, as in
 * GNU parallel ({@link Placeholders}).
 *
 * <p>The CLI parses the SPEC (it reads {@code @FILE} relative to its own working directory and
 * refuses a bad SPEC before anything is submitted) and sends the template and the items in one
 * control request; the home node expands them and records the whole array in one journal
 * transaction ({@code Journal.submitArray}). Pure code: no I/O here except reading {@code @FILE}.
 */
package io.herd.array;
