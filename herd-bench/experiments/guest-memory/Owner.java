import java.util.*;
public class Owner {
    static volatile long sink;
    static void spin(long n){ long x=1; for(long i=0;i<n;i++) x=x*6364136223846793005L+1442695040888963407L; sink=x; }
    public static void main(String[] a) throws Exception {
        int secs = Integer.parseInt(a[0]);
        long n=1_000_000; spin(n); double best=1e9;
        for(int i=0;i<10;i++){ long t=System.nanoTime(); spin(n); best=Math.min(best,(System.nanoTime()-t)/1e6);} 
        long burst=(long)(n*20/best);
        List<Double> it=new ArrayList<>();
        long end=System.nanoTime()+secs*1_000_000_000L;
        while(System.nanoTime()<end){ long t=System.nanoTime(); spin(burst); it.add((System.nanoTime()-t)/1e6); }
        Collections.sort(it);
        System.out.printf("%s n=%d p50=%.2f p99=%.2f max=%.2f%n", a.length>1?a[1]:"", it.size(), it.get(it.size()/2), it.get((int)(it.size()*0.99)), it.get(it.size()-1));
    }
}
