/* N-body (Jovian planets), N steps of 0.01; the checksum is the energy afterwards. */
#include <math.h>
#include "bench.h"

#define NB 5
#define PI 3.141592653589793
#define SOLAR_MASS (4.0 * PI * PI)
#define DAYS_PER_YEAR 365.24

static double x[NB] = {0.0, 4.84143144246472090e+00, 8.34336671824457987e+00, 1.28943695621391310e+01,
                       1.53796971148509165e+01};
static double y[NB] = {0.0, -1.16032004402742839e+00, 4.12479856412430479e+00, -1.51111514016986312e+01,
                       -2.59193146099879641e+01};
static double z[NB] = {0.0, -1.03622044471123109e-01, -4.03523417114321381e-01, -2.23307578892655734e-01,
                       1.79258772950371181e-01};
static double vx[NB] = {0.0, 1.66007664274403694e-03, -2.76742510726862411e-03, 2.96460137564761618e-03,
                        2.68067772490389322e-03};
static double vy[NB] = {0.0, 7.69901118419740425e-03, 4.99852801234917238e-03, 2.37847173959480950e-03,
                        1.62824170038242295e-03};
static double vz[NB] = {0.0, -6.90460016972063023e-05, 2.30417297573763929e-05, -2.96589568540237556e-05,
                        -9.51592254519715870e-05};
static double m[NB] = {1.0, 9.54791938424326609e-04, 2.85885980666130812e-04, 4.36624404335156298e-05,
                       5.15138902046611451e-05};

static void advance(double dt, int64_t steps) {
    for (int64_t s = 0; s < steps; s++) {
        for (int i = 0; i < NB; i++) {
            double xi = x[i], yi = y[i], zi = z[i], mi = m[i];
            for (int j = i + 1; j < NB; j++) {
                double dx = xi - x[j], dy = yi - y[j], dz = zi - z[j];
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * sqrt(d2));
                double mjm = m[j] * mag;
                vx[i] -= dx * mjm;
                vy[i] -= dy * mjm;
                vz[i] -= dz * mjm;
                double mim = mi * mag;
                vx[j] += dx * mim;
                vy[j] += dy * mim;
                vz[j] += dz * mim;
            }
        }
        for (int i = 0; i < NB; i++) {
            x[i] += dt * vx[i];
            y[i] += dt * vy[i];
            z[i] += dt * vz[i];
        }
    }
}

static double energy(void) {
    double e = 0.0;
    for (int i = 0; i < NB; i++) {
        e += 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
        for (int j = i + 1; j < NB; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j], dz = z[i] - z[j];
            e -= (m[i] * m[j]) / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

int main(int argc, char **argv) {
    int64_t steps = bench_size(argc, argv, 3000000);
    for (int i = 1; i < NB; i++) {
        vx[i] = vx[i] * DAYS_PER_YEAR;
        vy[i] = vy[i] * DAYS_PER_YEAR;
        vz[i] = vz[i] * DAYS_PER_YEAR;
        m[i] = m[i] * SOLAR_MASS;
    }
    m[0] = SOLAR_MASS;
    double px = 0.0, py = 0.0, pz = 0.0;
    for (int i = 0; i < NB; i++) {
        px += vx[i] * m[i];
        py += vy[i] * m[i];
        pz += vz[i] * m[i];
    }
    vx[0] = -px / SOLAR_MASS;
    vy[0] = -py / SOLAR_MASS;
    vz[0] = -pz / SOLAR_MASS;
    advance(0.01, steps);
    print_double(energy());
    return 0;
}
