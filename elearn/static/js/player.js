// elearn: the lecture player. Enhances every [data-player] element; without this file
// the page still shows a native <video>/<audio> with controls (but plays nothing, since the
// source is chosen here).
//
// Markup contract (rendered by the server template; keep both sides in step):
//
//   <div class="player" data-player
//        data-hls="/media/12/hls/master.m3u8" data-mp4="/media/12/fallback.mp4"
//        data-hls-script="/static/vendor/hls.js/hls.light.min.js"
//        data-duration="123.4" data-resume="45.2"
//        data-report-url="/courses/x/lessons/12/watch" data-csrf="TOKEN">
//     <video controls preload="metadata" playsinline poster="/media/12/poster.jpg" aria-label="...">
//       <track kind="captions" srclang="vi" label="Tiếng Việt"
//              src="/courses/x/lessons/12/captions/3.vtt" default>
//     </video>
//     <div class="player-bar">
//       <label for="speed-12">Tốc độ</label>
//       <select id="speed-12" data-player-speed>
//         <option value="0.75">0,75×</option> <option value="1" selected>1×</option> ... 2×
//       </select>
//       <p data-player-status aria-live="polite"></p>
//     </div>
//   </div>
//
// - Audio lectures use <audio controls preload="metadata"> instead of <video>, and data-mp4
//   points at fallback.m4a.
// - data-report-url and data-csrf are left out for staff previews: nothing is reported.
// - Engine: hls.js (loaded from data-hls-script) when Hls.isSupported(); else native HLS
//   only where MediaSource is missing (Safari on iPhone); else the MP4. The choice is
//   written to data-engine ("hls.js" | "native" | "mp4") on the [data-player] element.
//   A fatal hls.js error it cannot recover from switches to the MP4 at the same time.
// - Keys while focus is inside the player (not in the speed list): k play/pause,
//   j/l back/forward 10 s, c captions on/off. Space and arrows stay with the native controls.
// - Reporting: POST (form-encoded) to data-report-url with csrf_token, intervals (JSON
//   [[start, end], ...] in seconds, played stretches not yet acknowledged) and position;
//   header X-Requested-With: fetch. Sent every 10 s while playing, on pause and end, when
//   the page is hidden, and with navigator.sendBeacon (no custom header) on pagehide.
//   The JSON answer {percent, status, message} puts `message` into [data-player-status]
//   and is also dispatched as an "elearn:progress" event on the [data-player] element.
//   Unacknowledged stretches are re-sent (the server merges duplicates), except after a
//   JSON 4xx answer other than 429: that report was read and refused, and its `error`
//   is shown instead.
// - window.elearnPlayers lists {element, media, engine} for tests.
(function () {
  "use strict";

  const REPORT_EVERY_MS = 10000;
  const MIN_GAP_MS = 1000; // never two reports within a second
  const REQUEST_TIMEOUT_MS = 15000;
  const JUMP_SLACK_S = 1.5; // play-time advance beyond wall time × rate that counts as a seek
  const SEEK_STEP_S = 10;
  const RESUME_MARGIN_S = 5; // no resuming into the last seconds

  const players = (window.elearnPlayers = window.elearnPlayers || []);
  const hlsScripts = new Map(); // src -> Promise<Hls | null>, shared by players on one page
  const enhanced = new WeakSet();

  function loadHls(src) {
    if (window.Hls) {
      return Promise.resolve(window.Hls);
    }
    if (!src) {
      return Promise.resolve(null);
    }
    if (!hlsScripts.has(src)) {
      hlsScripts.set(
        src,
        new Promise(function (resolve) {
          const script = document.createElement("script");
          script.src = src;
          script.async = true;
          script.addEventListener("load", function () {
            resolve(window.Hls || null);
          });
          script.addEventListener("error", function () {
            resolve(null); // offline or blocked: the native/MP4 paths still work
          });
          document.head.appendChild(script);
        })
      );
    }
    return hlsScripts.get(src);
  }

  function toNumber(value) {
    const number = parseFloat(value);
    return Number.isFinite(number) ? number : 0;
  }

  function round2(value) {
    return Math.round(value * 100) / 100;
  }

  // Sort and join overlapping or touching intervals so the pending list stays short.
  function merge(intervals) {
    const sorted = intervals
      .filter(function (pair) {
        return pair[1] > pair[0];
      })
      .sort(function (a, b) {
        return a[0] - b[0];
      });
    const out = [];
    for (const pair of sorted) {
      const last = out[out.length - 1];
      if (last && pair[0] <= last[1] + 0.01) {
        last[1] = Math.max(last[1], pair[1]);
      } else {
        out.push([pair[0], pair[1]]);
      }
    }
    return out;
  }

  function captionTrack(media) {
    for (const track of Array.from(media.textTracks || [])) {
      if (track.kind === "captions" || track.kind === "subtitles") {
        return track;
      }
    }
    return null;
  }

  function setUp(element) {
    const media = element.querySelector("video, audio");
    if (!media || enhanced.has(element)) {
      return;
    }
    enhanced.add(element);
    const speed = element.querySelector("[data-player-speed]");
    const status = element.querySelector("[data-player-status]");
    const hlsUrl = element.dataset.hls || "";
    const mp4Url = element.dataset.mp4 || "";
    const reportUrl = element.dataset.reportUrl || "";
    const csrf = element.dataset.csrf || "";
    const entry = { element: element, media: media, engine: "" };
    players.push(entry);

    let hls = null;
    // Where to go once metadata is known: the resume point, or the time at an engine switch.
    let pendingSeek = null; // {time, exact, play}
    const resume = toNumber(element.dataset.resume);
    if (resume > 0) {
      pendingSeek = { time: resume, exact: false, play: false };
    }

    function setEngine(name) {
      element.dataset.engine = name;
      entry.engine = name;
    }

    function duration() {
      return Number.isFinite(media.duration) && media.duration > 0
        ? media.duration
        : toNumber(element.dataset.duration);
    }

    function wanted(seek) {
      // The time to start at, or null when the resume rule says start from the beginning.
      const total = duration();
      if (!seek || seek.time <= 0) {
        return null;
      }
      if (seek.exact) {
        return total ? Math.min(seek.time, total) : seek.time;
      }
      return total && seek.time < total - RESUME_MARGIN_S ? seek.time : null;
    }

    // --- speed -------------------------------------------------------------------------

    function chosenRate() {
      const rate = speed ? parseFloat(speed.value) : 1;
      return Number.isFinite(rate) && rate > 0 ? rate : 1;
    }

    function applyRate() {
      const rate = chosenRate();
      media.defaultPlaybackRate = rate;
      media.playbackRate = rate;
    }

    if (speed) {
      speed.addEventListener("change", applyRate);
      // Browsers with a speed menu in their own controls: keep the list in step.
      media.addEventListener("ratechange", function () {
        const value = String(media.playbackRate);
        if (speed.value !== value && speed.querySelector('option[value="' + value + '"]')) {
          speed.value = value;
        }
      });
    }

    media.addEventListener("loadedmetadata", function () {
      applyRate(); // a new source resets the rate
      const seek = pendingSeek;
      pendingSeek = null;
      const target = wanted(seek);
      if (target !== null && Math.abs(media.currentTime - target) > 0.5) {
        media.currentTime = target;
      }
      if (seek && seek.play) {
        media.play().catch(function () {});
      }
    });

    // --- keyboard ------------------------------------------------------------------------

    element.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      const target = event.target;
      if (target !== media && target.closest("select, input, textarea, button, a")) {
        return;
      }
      const key = (event.key || "").toLowerCase();
      const total = duration();
      if (key === "k") {
        if (media.paused) {
          media.play().catch(function () {});
        } else {
          media.pause();
        }
      } else if (key === "j" || key === "l") {
        const step = key === "j" ? -SEEK_STEP_S : SEEK_STEP_S;
        const next = Math.max(0, media.currentTime + step);
        media.currentTime = total ? Math.min(next, total) : next;
      } else if (key === "c") {
        const track = captionTrack(media);
        if (!track) {
          return;
        }
        track.mode = track.mode === "showing" ? "hidden" : "showing";
      } else {
        return;
      }
      event.preventDefault();
    });

    // --- what was watched ----------------------------------------------------------------

    let open = null; // {start, end}: the stretch being played now
    let pending = []; // closed stretches not yet acknowledged by the server
    let inFlight = null; // stretches in the request under way
    let lastWall = 0;

    function openAt(time) {
      open = { start: time, end: time };
      lastWall = performance.now();
    }

    function close() {
      if (open && open.end > open.start) {
        pending.push([open.start, open.end]);
      }
      open = null;
    }

    media.addEventListener("timeupdate", function () {
      const now = performance.now();
      const time = media.currentTime;
      if (media.seeking) {
        return;
      }
      if (open) {
        const advance = time - open.end;
        const allowed = ((now - lastWall) / 1000) * (media.playbackRate || 1) + JUMP_SLACK_S;
        if (advance > 0 && advance <= allowed) {
          open.end = time;
        } else if (advance !== 0) {
          close(); // a jump the seeking event did not announce
          if (!media.paused) {
            openAt(time);
          }
        }
      } else if (!media.paused) {
        openAt(time);
      }
      lastWall = now;
    });
    media.addEventListener("playing", function () {
      if (!open && !media.seeking) {
        openAt(media.currentTime);
      }
      startTicking();
    });
    media.addEventListener("seeking", close);
    media.addEventListener("seeked", function () {
      if (!media.paused) {
        openAt(media.currentTime);
      }
    });
    media.addEventListener("emptied", function () {
      close(); // a new source: the old timeline ends here
      stopTicking();
    });
    media.addEventListener("pause", function () {
      if (open && media.currentTime > open.end && !media.seeking) {
        open.end = media.currentTime;
      }
      close();
      stopTicking();
      report();
    });
    media.addEventListener("ended", function () {
      if (open && !media.seeking) {
        open.end = Math.max(open.end, media.currentTime);
      }
      close();
      stopTicking();
      report();
    });

    // --- reporting -----------------------------------------------------------------------

    let ticker = null;
    let lastSent = -Infinity;
    let lastPosition = null;
    let later = null;

    function startTicking() {
      if (reportUrl && !ticker) {
        ticker = setInterval(report, REPORT_EVERY_MS);
      }
    }

    function stopTicking() {
      clearInterval(ticker);
      ticker = null;
    }

    // Move the open stretch into the pending list, carrying on from its end if playing.
    function cut() {
      if (open && open.end > open.start) {
        const end = open.end;
        pending.push([open.start, end]);
        open = !media.paused && !media.seeking ? { start: end, end: end } : null;
      }
      pending = merge(pending);
    }

    function body(intervals) {
      const form = new URLSearchParams();
      form.set("csrf_token", csrf);
      form.set(
        "intervals",
        JSON.stringify(
          intervals.map(function (pair) {
            return [round2(pair[0]), round2(pair[1])];
          })
        )
      );
      form.set("position", media.currentTime.toFixed(2));
      return form;
    }

    function show(answer) {
      if (!answer || typeof answer !== "object") {
        return;
      }
      const message = answer.message || answer.error;
      // Rewriting the same words would make some screen readers say them again.
      if (status && typeof message === "string" && message && status.textContent !== message) {
        status.textContent = message;
      }
      if (answer.status) {
        element.dataset.progress = answer.status;
      }
      element.dispatchEvent(new CustomEvent("elearn:progress", { detail: answer }));
    }

    function report(keepalive) {
      if (!reportUrl) {
        return;
      }
      const wait = lastSent + MIN_GAP_MS - Date.now();
      if (inFlight || wait > 0) {
        if (!later) {
          later = setTimeout(function () {
            later = null;
            report(keepalive);
          }, Math.max(wait, 200));
        }
        return;
      }
      cut();
      const sent = pending;
      pending = [];
      inFlight = sent;
      lastSent = Date.now();
      lastPosition = media.currentTime;
      const controller = window.AbortController ? new AbortController() : null;
      const timer = controller
        ? setTimeout(function () {
            controller.abort();
          }, REQUEST_TIMEOUT_MS)
        : null;
      fetch(reportUrl, {
        method: "POST",
        body: body(sent),
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
        keepalive: Boolean(keepalive),
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          const type = response.headers.get("Content-Type") || "";
          const json = type.indexOf("json") !== -1 ? response.json() : Promise.resolve(null);
          return json.then(function (answer) {
            show(answer); // {error} answers are shown too ("enrol first", ...)
            const read = answer && !response.redirected;
            const refused = read && response.status >= 400 && response.status < 500;
            // A report the server read and refused would be refused again: drop it.
            // Keep everything else (offline, 5xx, 429, an HTML login or CSRF page).
            if (!(read && (response.ok || (refused && response.status !== 429)))) {
              throw new Error("report not taken: " + response.status);
            }
          });
        })
        .catch(function () {
          pending = merge(sent.concat(pending)); // try again next time
        })
        .then(function () {
          clearTimeout(timer);
          inFlight = null;
        });
    }

    function beacon() {
      if (!reportUrl || !navigator.sendBeacon) {
        return;
      }
      cut();
      const unsent = merge((inFlight || []).concat(pending));
      if (!unsent.length && lastPosition === media.currentTime) {
        return; // nothing new since the last report
      }
      if (navigator.sendBeacon(reportUrl, body(unsent))) {
        pending = [];
        lastSent = Date.now();
        lastPosition = media.currentTime;
      }
    }

    if (reportUrl) {
      window.addEventListener("pagehide", beacon);
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "hidden") {
          report(true);
        }
      });
    }

    // --- engines -------------------------------------------------------------------------

    function useMp4(seek) {
      setEngine("mp4");
      if (!mp4Url) {
        return;
      }
      if (seek) {
        pendingSeek = seek;
      }
      media.src = mp4Url;
    }

    function useHlsJs(Hls) {
      setEngine("hls.js");
      const start = wanted(pendingSeek);
      hls = new Hls({
        // Transmuxing runs in hls.js's blob: worker (the CSP allows worker-src blob:).
        enableWorker: true,
        capLevelToPlayerSize: true,
        startPosition: start === null ? -1 : start,
        autoStartLoad: media.preload !== "none",
      });
      let recovered = false;
      hls.on(Hls.Events.ERROR, function (_event, data) {
        if (!data.fatal) {
          return;
        }
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
          recovered = true;
          hls.recoverMediaError();
          return;
        }
        const at = media.currentTime || (pendingSeek ? pendingSeek.time : 0);
        const play = !media.paused;
        hls.destroy();
        hls = null;
        useMp4({ time: at, exact: true, play: play });
      });
      if (media.preload === "none") {
        media.addEventListener(
          "play",
          function () {
            if (hls) {
              hls.startLoad(start === null ? -1 : start);
            }
          },
          { once: true }
        );
      }
      hls.loadSource(hlsUrl);
      hls.attachMedia(media);
    }

    function nativeHls() {
      const answer = media.canPlayType("application/vnd.apple.mpegurl");
      // Desktop Chromium answers "maybe" too, so only trust it where MSE is missing.
      return (answer === "probably" || answer === "maybe") && !window.MediaSource;
    }

    applyRate();
    if (!hlsUrl) {
      useMp4(null);
      return;
    }
    loadHls(element.dataset.hlsScript).then(function (Hls) {
      if (Hls && Hls.isSupported()) {
        useHlsJs(Hls);
      } else if (nativeHls()) {
        setEngine("native");
        media.src = hlsUrl;
      } else {
        useMp4(null);
      }
    });
  }

  function setUpAll() {
    document.querySelectorAll("[data-player]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
