#!/usr/bin/env python3
"""Screenshots of the rendered site (headless Chromium): the index and three lessons, full page at 1280 px wide.

    python tools/screenshots.py                        # renders _site_check/ first when it is missing (tools/render_site.py)
    python tools/screenshots.py --out shots/ --pages index.html infer.quantize.html

Uses Debian's chromium and chromedriver (/usr/bin) through selenium, and Debian's fonts-nanum for the Korean text;
not part of the test command (a browser start and a few seconds a page). Prints the path of each PNG.
"""
import argparse, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ['index.html', 'vlm.llava_next_video.html', 'eval.meteor.html', 'infer.continuous.html']

def browser(width:int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = '/usr/bin/chromium'
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars',
              '--force-device-scale-factor=1', f'--window-size={width},900', '--lang=ko-KR'):
        o.add_argument(a)
    return webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=o)

def shoot(drv, html:Path, png:Path, width:int, max_height:int)->int:
    "Full-page screenshot of one page (cut at max_height px); returns the page's height and (loaded?, y) of each image."
    drv.set_window_size(width, 900)
    drv.get(html.resolve().as_uri())
    h = drv.execute_script('return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)')
    imgs = drv.execute_script('return [...document.images].map(i => [i.complete && i.naturalWidth > 0, Math.round(i.getBoundingClientRect().top + scrollY)])')
    # the viewport itself (set_window_size would count the window's frame and cut the page's bottom)
    drv.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', dict(width=width, height=min(h, max_height), deviceScaleFactor=1, mobile=False))
    drv.save_screenshot(str(png))
    drv.execute_cdp_cmd('Emulation.clearDeviceMetricsOverride', {})
    return h, imgs

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--site', default='_site_check', help='the rendered pages (tools/render_site.py)')
    p.add_argument('--out', default='_site_check/shots', help='where the PNGs go')
    p.add_argument('--pages', nargs='+', default=PAGES, help='pages of the site to shoot')
    p.add_argument('--width', type=int, default=1280)
    p.add_argument('--max-height', type=int, default=12000, help='longer pages are cut here (px)')
    p.add_argument('--render', action='store_true', help='run tools/render_site.py first even when the site exists')
    a = p.parse_args(argv)
    site, out = ROOT / a.site, ROOT / a.out
    if a.render or not (site / a.pages[0]).exists():
        # render_site exits 1 when a page fails its checks; the pages are written all the same
        subprocess.run([sys.executable, str(ROOT / 'tools/render_site.py'), '--out', str(site)], cwd=ROOT)
    missing = [pg for pg in a.pages if not (site / pg).exists()]
    if missing: print(f'no such page in {site}: {" ".join(missing)}'); return 1
    out.mkdir(parents=True, exist_ok=True)
    drv, bad = browser(a.width), 0
    try:
        for pg in a.pages:
            png = out / (Path(pg).stem + '.png')
            h, imgs = shoot(drv, site / pg, png, a.width, a.max_height)
            cut = f', cut at {a.max_height} px' if h > a.max_height else ''
            shown = sum(ok for ok, _ in imgs)
            at = f' at y={",".join(str(y) for _, y in imgs[:6])}' if imgs else ''
            print(f'{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}  ({pg}: {a.width}x{h} px{cut}; '
                  f'{shown} of {len(imgs)} images loaded{at})')
            bad += shown < len(imgs)
    finally: drv.quit()
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
