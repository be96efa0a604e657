# bench/run's chart: requests/s per scenario relative to nginx, and cold start.
# Called by report.py with rps_data, cold_data, out and chart_title set.

set terminal pngcairo size 1300,620 font "DejaVu Sans,11"
set output out
set multiplot title "clusterd vs nginx vs Node.js cluster — ".chart_title font ",13"

# Left: grouped bars, nginx = 1.0; absolute req/s above each bar.
set origin 0, 0
set size 0.7, 0.94
set bmargin 5
set title "requests/s relative to nginx (higher is better); labels: req/s"
set style fill solid 0.85 border -1
set boxwidth 0.25
stats rps_data using 2 nooutput
top = STATS_max
stats rps_data using 4 nooutput
top = (STATS_max > top ? STATS_max : top) > 1 ? (STATS_max > top ? STATS_max : top) : 1
set yrange [0:top * 1.3]
set ylabel "req/s ÷ nginx req/s"
set xrange [-0.6:STATS_records - 0.4]
set grid ytics lc rgb "#dddddd"
set key at graph 0.5, screen 0.035 center horizontal
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#555555" front
plot rps_data using ($0-0.25):2 with boxes lc rgb "#1f77b4" title "clusterd", \
     ''       using ($0):3:xtic(1) with boxes lc rgb "#2ca02c" title "nginx", \
     ''       using ($0+0.25):4 with boxes lc rgb "#ff7f0e" title "node cluster", \
     ''       using ($0-0.25):2:(sprintf("%d", $5)) with labels rotate by 90 left offset 0,0.4 font ",9" notitle, \
     ''       using ($0):3:(sprintf("%d", $6)) with labels rotate by 90 left offset 0,0.4 font ",9" notitle, \
     ''       using ($0+0.25):4:(sprintf("%d", $7)) with labels rotate by 90 left offset 0,0.4 font ",9" notitle

# Right: cold start, milliseconds to the first byte.
unset arrow 1
set origin 0.7, 0
set size 0.3, 0.94
set title "cold start, ms to first byte\n(lower is better)"
set ylabel "ms"
set boxwidth 0.6
set xrange [-0.6:2.6]
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
unset key
plot cold_data using 0:2:3:xtic(1) with boxes lc rgb variable, \
     ''        using 0:2:(sprintf("%.1f", $2)) with labels offset 0,0.7 font ",10"

unset multiplot
