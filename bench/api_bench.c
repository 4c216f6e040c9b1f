/*
 * api_bench.c: requests per second of jitgated's hot paths, over real HTTPS with
 * keep-alive connections (libcurl), from T client threads for D seconds each.
 *
 *   api_bench URL CA TOKEN_FILE PATH METHOD BODY_FILE|- THREADS SECONDS
 *
 * Prints one line: "<method> <requests> requests in <s> s: <rps> req/s, p50 <ms> ms,
 * p99 <ms> ms, <errors> errors". A benchmark, not a test: nothing is asserted.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SAMPLES 2000000

struct job {
	const char *url, *ca, *auth, *method, *body;
	double seconds;
	size_t n, errors;
	double *lat;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static void *
run(void *arg)
{
	struct job *j = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	double end;

	hdr = curl_slist_append(hdr, j->auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, j->url);
	curl_easy_setopt(h, CURLOPT_CAINFO, j->ca);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, j->method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (j->body != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
	end = now_s() + j->seconds;
	while (now_s() < end && j->n < MAX_SAMPLES) {
		double t0 = now_s();
		long code = 0;

		if (curl_easy_perform(h) != CURLE_OK ||
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
			code >= 300)
			j->errors++;
		j->lat[j->n++] = now_s() - t0;
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0 || (buf = calloc(1, (size_t)n + 1)) == NULL) {
		if (f)
			fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	char auth[256], *token, *body = NULL, *nl;
	int threads;
	double seconds, t0, elapsed, *all;
	struct job *jobs;
	pthread_t *tids;
	size_t total = 0, errors = 0, k = 0;

	if (argc != 9) {
		fprintf(stderr, "usage: api_bench URL CA TOKEN_FILE PATH METHOD BODY_FILE|- THREADS "
			"SECONDS\n");
		return 2;
	}
	if ((token = slurp(argv[3])) == NULL) {
		fprintf(stderr, "api_bench: cannot read %s\n", argv[3]);
		return 1;
	}
	if ((nl = strchr(token, '\n')) != NULL)
		*nl = '\0';
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	if (strcmp(argv[6], "-") != 0 && (body = slurp(argv[6])) == NULL) {
		fprintf(stderr, "api_bench: cannot read %s\n", argv[6]);
		return 1;
	}
	threads = atoi(argv[7]);
	seconds = atof(argv[8]);
	if (threads < 1 || threads > 64 || seconds <= 0) {
		fprintf(stderr, "api_bench: THREADS 1..64, SECONDS > 0\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	jobs = calloc((size_t)threads, sizeof(*jobs));
	tids = calloc((size_t)threads, sizeof(*tids));
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", argv[1], argv[4]);
	t0 = now_s();
	for (int i = 0; i < threads; i++) {
		jobs[i] = (struct job){.url = url, .ca = argv[2], .auth = auth, .method = argv[5],
			.body = body, .seconds = seconds,
			.lat = malloc(sizeof(double) * MAX_SAMPLES)};
		pthread_create(&tids[i], NULL, run, &jobs[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		total += jobs[i].n;
		errors += jobs[i].errors;
	}
	elapsed = now_s() - t0;
	all = malloc(sizeof(double) * (total ? total : 1));
	for (int i = 0; i < threads; i++) {
		memcpy(all + k, jobs[i].lat, sizeof(double) * jobs[i].n);
		k += jobs[i].n;
		free(jobs[i].lat);
	}
	qsort(all, total, sizeof(double), cmp);
	printf("%-6s %-44s %7zu requests in %5.1f s: %8.0f req/s, p50 %6.2f ms, p99 %6.2f ms, "
		"%zu errors\n", argv[5], argv[4][0] ? strrchr(argv[4], '/') : "", total, elapsed,
		(double)total / elapsed, total ? all[total / 2] * 1e3 : 0,
		total ? all[total * 99 / 100] * 1e3 : 0, errors);
	free(all);
	free(jobs);
	free(tids);
	free(token);
	free(body);
	curl_global_cleanup();
	return 0;
}
