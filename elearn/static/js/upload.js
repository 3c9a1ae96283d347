// elearn: resumable lecture upload and conversion progress (teach/video.html).
//
// The file goes up in chunks: POST start-url (name, size) opens an upload; each chunk is
// PUT at ?offset= the server holds; GET on the upload's URL says where to continue. A
// dropped connection is retried with growing pauses and continues where it stopped;
// choosing the same file again later (even after closing the page) resumes it. Chunk
// size adapts so one request lasts about five seconds on the instructor's link.
(function () {
  "use strict";

  var MIN_CHUNK = 256 * 1024;
  var TARGET_SECONDS = 5;

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) {
      return values[key];
    });
  }

  function megabytes(bytes) {
    var mb = bytes / (1024 * 1024);
    return (mb >= 100 ? Math.round(mb) : mb.toFixed(1)).toString().replace(".", ",") + " MB";
  }

  function request(method, url, csrf, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      if (body instanceof Blob) {
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
      } // URLSearchParams bodies are sent as application/x-www-form-urlencoded by the browser
      if (onProgress && xhr.upload) {
        xhr.upload.addEventListener("progress", function (event) {
          onProgress(event.loaded);
        });
      }
      xhr.onload = function () {
        var data = {};
        try {
          data = JSON.parse(xhr.responseText || "{}");
        } catch (e) {
          data = {};
        }
        resolve({ status: xhr.status, data: data });
      };
      xhr.onerror = function () {
        reject(new Error("network"));
      };
      xhr.ontimeout = xhr.onerror;
      xhr.send(body || null);
    });
  }

  function sleep(seconds) {
    return new Promise(function (resolve) {
      var done = false;
      function wake() {
        if (!done) {
          done = true;
          window.removeEventListener("online", wake);
          resolve();
        }
      }
      window.addEventListener("online", wake);
      window.setTimeout(wake, seconds * 1000);
    });
  }

  function setUp(form) {
    var input = form.querySelector("input[type=file]");
    var button = form.querySelector("[data-upload-button]");
    var bar = form.querySelector("[data-upload-progress]");
    var status = form.querySelector("[data-upload-status]");
    var csrf = form.getAttribute("data-csrf");
    var maxBytes = Number(form.getAttribute("data-max"));
    var maxChunk = Number(form.getAttribute("data-chunk"));
    var types = form.getAttribute("data-types").split(",");
    var msg = function (name) {
      return form.getAttribute("data-msg-" + name);
    };
    var busy = false;

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("error-message", Boolean(isError));
    }

    function show(offset, size) {
      bar.hidden = false;
      var percent = Math.floor((offset / size) * 100);
      bar.value = percent;
      say(format(msg("progress"), { done: megabytes(offset), total: megabytes(size), percent: percent }));
    }

    async function open(file, key) {
      var saved = null;
      try {
        saved = JSON.parse(window.localStorage.getItem(key) || "null");
      } catch (e) {
        saved = null;
      }
      if (saved) {
        var found = await request("GET", saved.url, csrf);
        if (found.status === 200) {
          say(msg("resumed"));
          return { url: saved.url, offset: found.data.offset };
        }
        window.localStorage.removeItem(key);
      }
      var body = new URLSearchParams({ name: file.name, size: String(file.size), csrf_token: csrf });
      var started = await request("POST", form.getAttribute("data-start-url"), csrf, body);
      if (started.status !== 201) {
        throw new Error(started.data.error || String(started.status));
      }
      window.localStorage.setItem(key, JSON.stringify({ url: started.data.url }));
      return { url: started.data.url, offset: 0 };
    }

    async function upload(file) {
      var key = "elearn-upload:" + form.getAttribute("data-start-url") + ":" + file.name + ":" + file.size + ":" + file.lastModified;
      var pause = 2;
      var chunk = Math.min(maxChunk, 1024 * 1024);
      var state = null;
      while (state === null) {
        try {
          state = await open(file, key);
        } catch (error) {
          if (error.message !== "network") {
            throw error;
          }
          say(format(msg("retry"), { seconds: pause }), true);
          await sleep(pause);
          pause = Math.min(pause * 2, 30);
        }
      }
      var offset = state.offset;
      show(offset, file.size);
      while (true) {
        var end = Math.min(offset + chunk, file.size);
        var began = Date.now();
        var result;
        try {
          result = await request("PUT", state.url + "?offset=" + offset, csrf, file.slice(offset, end), function (loaded) {
            show(offset + loaded, file.size);
          });
        } catch (error) {
          result = { status: 0, data: {} };
        }
        if (result.status === 200 && result.data.done) {
          window.localStorage.removeItem(key);
          bar.value = 100;
          say(msg("checking"));
          window.location.assign(result.data.redirect);
          return;
        }
        if (result.status === 409 && result.data.offset >= file.size) {
          // A retried last chunk: the server already has the whole file and is checking it.
          window.localStorage.removeItem(key);
          say(msg("checking"));
          await sleep(3);
          window.location.assign(result.data.redirect);
          return;
        }
        if (result.status === 409) {
          await sleep(1); // another request for this upload may still be finishing
        }
        if (result.status === 200 || result.status === 409) {
          if (result.status === 200) {
            var seconds = Math.max((Date.now() - began) / 1000, 0.1);
            var rate = (end - offset) / seconds;
            chunk = Math.max(MIN_CHUNK, Math.min(maxChunk, Math.floor(rate * TARGET_SECONDS)));
          }
          offset = result.data.offset;
          pause = 2;
          show(offset, file.size);
          if (offset >= file.size) {
            say(msg("checking"));
          }
          continue;
        }
        if (result.status === 0 || result.status >= 500 || result.status === 429) {
          say(format(msg("retry"), { seconds: pause }), true);
          await sleep(pause);
          pause = Math.min(pause * 2, 30);
          var where = await request("GET", state.url, csrf).catch(function () {
            return { status: 0, data: {} };
          });
          if (where.status === 200) {
            offset = where.data.offset;
          } else if (where.status === 404) {
            window.localStorage.removeItem(key);
            throw new Error(msg("failed"));
          }
          continue;
        }
        if (result.status === 404 || result.status === 413 || result.status === 422) {
          window.localStorage.removeItem(key); // refused or gone: nothing to resume
        }
        // Otherwise (an expired session, say) the upload stays resumable: choosing the
        // same file again after signing in continues it.
        throw new Error(result.data.error || msg("session"));
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) {
        return;
      }
      var file = input.files && input.files[0];
      if (!file) {
        say(msg("choose"), true);
        input.focus();
        return;
      }
      var extension = file.name.indexOf(".") >= 0 ? file.name.split(".").pop().toLowerCase() : "";
      if (types.indexOf(extension) < 0) {
        say(msg("type"), true);
        return;
      }
      if (file.size > maxBytes) {
        say(msg("too-large"), true);
        return;
      }
      busy = true;
      button.disabled = true;
      input.disabled = true;
      upload(file)
        .catch(function (error) {
          bar.hidden = true;
          say(msg("failed") + " " + error.message, true);
        })
        .finally(function () {
          busy = false;
          button.disabled = false;
          input.disabled = false;
        });
    });
  }

  function followConversion(box) {
    var url = box.getAttribute("data-status-url");
    var bar = box.querySelector("[data-convert-progress]");
    var message = box.querySelector("[data-convert-message]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json();
        })
        .then(function (data) {
          if (data.state !== "processing") {
            window.location.reload();
            return;
          }
          if (bar && data.progress !== null) {
            bar.value = Math.round(data.progress * 100);
          }
          if (message && data.message) {
            message.textContent = data.message;
          }
          window.setTimeout(poll, 3000);
        })
        .catch(function () {
          window.setTimeout(poll, 10000);
        });
    }
    window.setTimeout(poll, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-upload]").forEach(setUp);
    document.querySelectorAll("[data-lecture-state=processing]").forEach(followConversion);
  });
})();
