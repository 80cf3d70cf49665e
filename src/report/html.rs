//! The HTML report: one self-contained file (inline CSS, JS and SVG; nothing loaded from the
//! network). Clicking a step shows its full state diff; clicking a fold expands it; opening the
//! page with `#expand` expands every fold.

use super::explain::explain;
use super::svg::{diff_text, render, HEAD, ROW};
use super::{esc, Witness};
use std::fmt::Write;

const CSS: &str = r#"
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:none}
h1{font-size:1.5em;margin:0 0 6px} h2{font-size:1.2em;margin-top:32px;border-top:1px solid #ccc;padding-top:12px}
.meta td{padding:2px 12px 2px 0;vertical-align:top} .meta td:first-child{color:#666}
.violated{color:#b00020;font-weight:bold} .outcome{color:#1f5fa8;font-weight:bold} .holds{color:#1a7f37;font-weight:bold}
.means{background:#fff4e5;border-left:4px solid #e69500;padding:6px 10px;margin:8px 0}
.explain{background:#eef5ff;border-left:4px solid #1f5fa8;padding:6px 10px;margin:8px 0}
.diagram{overflow-x:auto;border:1px solid #ddd;margin:8px 0;background:#fff}
.diagram svg.seq{display:block;max-width:100%;height:auto}
.seq .step,.seq .fold{cursor:pointer} .seq .step:hover rect.box{stroke-width:2.5}
.seq .step.selected rect.box{stroke:#1f5fa8;stroke-width:3}
pre.diff{background:#f7f7f7;border:1px solid #ddd;padding:8px;white-space:pre-wrap;min-height:2.5em}
button{margin-right:6px}
table.grid{border-collapse:collapse;margin:8px 0} table.grid td,table.grid th{border:1px solid #bbb;padding:4px 8px;text-align:left}
table.grid th{background:#eef} .yes{background:#e9f7ec} .no{background:#fde8e8}
tr.differs td:not(.yes):not(.no){background:#fff3d6} tr.differs td:first-child{border-left:4px solid #e0a000}
.timing{background:#fff4e5;border-left:4px solid #e69500;padding:4px 10px}
"#;

const JS: &str = r#"
window.addEventListener('error',function(e){document.body.setAttribute('data-js-error',String(e.message));});
(function(){
var ROW=__ROW__,HEAD=__HEAD__;
function layout(svg){
  var folds=JSON.parse(svg.getAttribute('data-folds')),open=svg.vmOpen||{};
  var steps=svg.querySelectorAll('g.step'),rows=[],fy=[],y=HEAD;
  function foldOf(i){for(var f=0;f<folds.length;f++){if(folds[f][0]<=i&&i<=folds[f][1]&&!open[f])return f;}return -1;}
  for(var i=0;i<steps.length;i++){var f=foldOf(i);
    if(f>=0){if(folds[f][0]===i){fy[f]=y;y+=ROW;}rows.push(fy[f]);steps[i].setAttribute('display','none');}
    else{rows.push(y);y+=ROW;steps[i].removeAttribute('display');}
    steps[i].setAttribute('transform','translate(0,'+rows[i]+')');}
  svg.querySelectorAll('g.fold').forEach(function(g){var f=+g.getAttribute('data-fold');
    if(open[f]){g.setAttribute('display','none');}else{g.removeAttribute('display');g.setAttribute('transform','translate(0,'+fy[f]+')');}});
  svg.querySelectorAll('g.arrow').forEach(function(g){var a=+g.getAttribute('data-from'),b=+g.getAttribute('data-to');
    var l=g.querySelector('line'),t=g.querySelector('text');
    if(foldOf(a)>=0||foldOf(b)>=0){g.setAttribute('display','none');return;}
    g.removeAttribute('display');var y1=rows[a]+ROW/2,y2=rows[b]+ROW/2;
    l.setAttribute('y1',y1);l.setAttribute('y2',y2);t.setAttribute('y',(y1+y2)/2-4);});
  var h=y+16;svg.setAttribute('height',h);var vb=svg.getAttribute('viewBox').split(' ');vb[3]=h;svg.setAttribute('viewBox',vb.join(' '));
  svg.querySelector('rect').setAttribute('height',h);
  svg.querySelectorAll('line.life').forEach(function(l){l.setAttribute('y2',h-8);});
}
document.querySelectorAll('svg.seq').forEach(function(svg){
  var data=JSON.parse(document.getElementById(svg.id+'-steps').textContent);
  var pane=document.getElementById(svg.id+'-diff');
  svg.addEventListener('click',function(ev){
    var fold=ev.target.closest('g.fold');
    if(fold){svg.vmOpen=svg.vmOpen||{};svg.vmOpen[+fold.getAttribute('data-fold')]=true;layout(svg);return;}
    var st=ev.target.closest('g.step');if(!st)return;
    svg.querySelectorAll('g.step.selected').forEach(function(s){s.classList.remove('selected');});
    st.classList.add('selected');var i=+st.getAttribute('data-step');
    pane.textContent='Step '+(i+1)+'. '+data[i];});
  svg.addEventListener('mouseover',function(ev){var st=ev.target.closest('g.step');
    if(st&&!svg.querySelector('g.step.selected')){pane.textContent='Step '+(+st.getAttribute('data-step')+1)+'. '+data[+st.getAttribute('data-step')];}});
  var sec=svg.closest('section');
  sec.querySelector('button.expand').addEventListener('click',function(){var o={},n=JSON.parse(svg.getAttribute('data-folds')).length;for(var f=0;f<n;f++)o[f]=true;svg.vmOpen=o;layout(svg);});
  sec.querySelector('button.collapse').addEventListener('click',function(){svg.vmOpen={};layout(svg);});
});
if(location.hash==='#expand'){document.querySelectorAll('button.expand').forEach(function(b){b.click();});}
document.body.setAttribute('data-rendered',document.querySelectorAll('g.lifeline').length+' lifelines, '+document.querySelectorAll('g.arrow').length+' arrows');
var clipped=0;document.querySelectorAll('.diagram').forEach(function(d){var edge=d.getBoundingClientRect().right;
  d.querySelectorAll('g.lifeline rect').forEach(function(r){if(r.getBoundingClientRect().right>edge+0.5)clipped++;});});
document.body.setAttribute('data-clipped-lifelines',String(clipped));
document.body.setAttribute('data-js','ok');
})();
"#;

/// A whole page around `body`.
pub fn page(title: &str, body: &str) -> String {
    let js = JS
        .replace("__ROW__", &ROW.to_string())
        .replace("__HEAD__", &HEAD.to_string());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}<script>{js}</script>\n</body>\n</html>\n",
        esc(title)
    )
}

/// One witness as a `<section>`; `id` must be unique on the page.
pub fn section(w: &Witness, id: &str, level: usize) -> String {
    let m = &w.meta;
    let mut s = String::new();
    let _ = writeln!(s, "<section id=\"{id}-section\">");
    let _ = writeln!(s, "<h{level}>{}</h{level}>", esc(&w.heading()));
    s.push_str("<table class=\"meta\">");
    let _ = write!(s, "<tr><td>scenario</td><td>{}</td></tr>", esc(&m.scenario));
    if let Some(c) = &m.case {
        let _ = write!(s, "<tr><td>case</td><td>{}</td></tr>", esc(c));
    }
    let _ = writeln!(
        s,
        "<tr><td>variant</td><td>{}</td></tr><tr><td>verdict</td><td><span class=\"{}\">{}</span>: {}</td></tr><tr><td>steps</td><td>{}</td></tr></table>",
        esc(&m.variant),
        esc(&m.verdict),
        esc(&m.verdict),
        esc(&m.what),
        w.trace.steps.len()
    );
    if let Some(means) = &m.means {
        let _ = writeln!(
            s,
            "<div class=\"means\"><b>The property in plain words:</b> {}</div>",
            esc(means)
        );
    }
    let _ = writeln!(
        s,
        "<div class=\"explain\"><b>In short:</b> {}</div>",
        esc(&explain(w).text())
    );
    s.push_str("<p><button class=\"expand\">Expand all steps</button><button class=\"collapse\">Collapse</button> <small>Hover or click a step for its full state diff; red: the change that matters; ✗: where the property is found broken.</small></p>\n");
    let folds: Vec<[usize; 2]> = w.analysis.folds.iter().map(|f| [f.first, f.last]).collect();
    let svg = render(&w.trace, &w.analysis, id, true).replacen(
        "<svg ",
        &format!(
            "<svg data-folds=\"{}\" ",
            esc(&serde_json::to_string(&folds).expect("JSON"))
        ),
        1,
    );
    let _ = writeln!(s, "<div class=\"diagram\">\n{svg}</div>");
    let _ = writeln!(
        s,
        "<pre class=\"diff\" id=\"{id}-diff\">Click a step to see its full state diff.</pre>"
    );
    let data: Vec<String> = w.trace.steps.iter().map(diff_text).collect();
    let json = serde_json::to_string(&data)
        .expect("JSON")
        .replace("</", "<\\/");
    let _ = writeln!(
        s,
        "<script type=\"application/json\" id=\"{id}-steps\">{json}</script>\n</section>"
    );
    s
}

/// A standalone HTML report of one witness.
pub fn report(w: &Witness) -> String {
    let body = format!("<h1>{}</h1>\n{}", esc(&w.meta.title), section(w, "w0", 2));
    page(&w.meta.title, &body)
}
