package io.herd.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The home's dispatcher and its moves on a simulated clock, as the heterogeneous benchmark runs
 * them: four nodes whose guests are capped at 0.8, 0.6, 0.4 and 0.2 cores, two guest slots each,
 * an array of equal CPU-bound jobs. The jobs on a node share its cap; a job uses at most one core.
 * The placement's numbers are exact here (no load-average lag, no estimate to learn), so whatever
 * the makespan loses against the ideal (all work over all capacity) is the policy's own.
 */
class HeteroMakespanTest {

    static final double SPEED = 3.0;
    static final double WORK = 4.7;   // reference core-seconds: 1.57 s on one core of speed 3, as the bench's job

    /** A job in the simulation: where it runs, how much work it has left, and what placement expected. */
    static final class Sim {
        final JobRequest job;
        String host;
        double left;
        double placedAt;
        double expected;
        boolean moved;

        Sim(JobRequest job) {
            this.job = job;
            this.left = job.work();
        }
    }

    record Result(double makespan, Map<String, List<String>> timeline, int moves) {}

    static Result simulate(double[] caps, int slots, int jobs) {
        Map<String, Double> cap = new LinkedHashMap<>();
        for (int i = 0; i < caps.length; i++) cap.put("n" + (i + 1), caps[i]);
        LiveQueue queue = new LiveQueue();
        FairShare fs = new FairShare();
        Map<String, Sim> all = new HashMap<>();
        for (int i = 1; i <= jobs; i++) {
            JobRequest j = JobRequest.of("j" + i, "ann").withWork(WORK).from("n1");
            all.put(j.id(), new Sim(j));
            queue.add(j, 0);
        }
        List<Sim> running = new ArrayList<>();
        Map<String, List<String>> timeline = new LinkedHashMap<>();
        for (String h : cap.keySet()) timeline.put(h, new ArrayList<>());
        double now = 0;
        int done = 0;
        int moves = 0;
        while (done < jobs) {
            // The dispatcher's round: the queue against the hosts as they are now.
            List<Assignment> as = queue.dispatch(views(cap, slots, running), fs, (long) (now * 1000), busyUntil(running, now));
            for (Assignment a : as) {
                Sim s = all.get(a.job().id());
                s.host = a.host();
                s.placedAt = now;
                s.expected = a.expectedSeconds();
                running.add(s);
                timeline.get(s.host).add(String.format(java.util.Locale.ROOT, "%s@%.1f", s.job.id(), now));
            }
            if (queue.isEmpty()) {
                List<Moves.Running> movable = new ArrayList<>();
                for (Sim s : running) {
                    double remaining = s.expected - (now - s.placedAt);
                    if (!s.moved && remaining > 0) movable.add(new Moves.Running(s.job, s.host, remaining));
                }
                for (Moves.Move m : Moves.plan(movable, views(cap, slots, running))) {
                    Sim s = all.get(m.jobId());
                    running.remove(s);
                    s.moved = true;
                    s.left = s.job.work();   // started again from the start
                    queue.add(s.job, 0);
                    moves++;
                }
                if (!queue.isEmpty()) continue;
            }
            if (running.isEmpty()) throw new IllegalStateException(queue.size() + " jobs wait and nothing runs at " + now + " s");
            // The next job to end, at the rates of now.
            Map<String, Integer> n = counts(running);
            double step = Double.MAX_VALUE;
            for (Sim s : running) step = Math.min(step, s.left / rate(cap.get(s.host), n.get(s.host)));
            now += step;
            List<Sim> ended = new ArrayList<>();
            for (Sim s : running) {
                s.left -= step * rate(cap.get(s.host), n.get(s.host));
                if (s.left <= 1e-9) ended.add(s);
            }
            running.removeAll(ended);
            done += ended.size();
        }
        return new Result(now, timeline, moves);
    }

    /** Reference core-seconds per second a job gets on a node with this cap running n jobs. */
    static double rate(double cap, int n) {
        return SPEED * Math.min(1.0, cap / n);
    }

    static Map<String, Integer> counts(List<Sim> running) {
        Map<String, Integer> n = new HashMap<>();
        for (Sim s : running) n.merge(s.host, 1, Integer::sum);
        return n;
    }

    static List<HostView> views(Map<String, Double> cap, int slots, List<Sim> running) {
        Map<String, Integer> n = counts(running);
        List<HostView> out = new ArrayList<>();
        cap.forEach((h, c) -> {
            int guests = n.getOrDefault(h, 0);
            out.add(Hosts.host(h).cores(2).speed(SPEED).slots(slots).guests(guests).load(guests).share(c).build());
        });
        return out;
    }

    /** As the home computes it: what placement expected, less what has run since. */
    static Map<String, double[]> busyUntil(List<Sim> running, double now) {
        Map<String, List<Double>> until = new HashMap<>();
        for (Sim s : running) {
            until.computeIfAbsent(s.host, k -> new ArrayList<>()).add(LiveQueue.secondsUntilEnd(s.expected, now - s.placedAt));
        }
        Map<String, double[]> out = new HashMap<>();
        until.forEach((h, l) -> out.put(h, l.stream().mapToDouble(Double::doubleValue).toArray()));
        return out;
    }

    /**
     * The shortest makespan there is: each node runs its jobs one after another at its cap (a job
     * takes a core at most, and every cap here is below one), so T is enough when the nodes fit
     * n jobs, sum of floor(T / p_i), where p_i is a job's time on node i.
     */
    static double optimal(double[] caps, int jobs) {
        double best = Double.MAX_VALUE;
        for (double c : caps) {
            double p = WORK / (SPEED * c);
            for (int k = 1; k <= jobs; k++) {
                double t = k * p;
                int fit = 0;
                for (double d : caps) fit += (int) Math.floor(t / (WORK / (SPEED * d)) + 1e-9);
                if (fit >= jobs) {
                    best = Math.min(best, t);
                    break;
                }
            }
        }
        return best;
    }

    @Test
    void arraysOfEqualJobsOnNodesOfDifferentSpeedEndWithinTwoPercentOfTheShortestMakespan() {
        double[] caps = {0.8, 0.6, 0.4, 0.2};
        for (int jobs = 8; jobs <= 60; jobs++) {
            Result r = simulate(caps, 2, jobs);
            double best = optimal(caps, jobs);
            assertThat(r.makespan() / best).as("%d jobs: makespan %.2f s, shortest %.2f s, %d moves; %s",
                    jobs, r.makespan(), best, r.moves(), r.timeline()).isLessThan(1.02);
        }
    }
}
